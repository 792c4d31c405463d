/**
 * streamrlhf learner module: see the module table in the README.
 *
 * <ul>
 *   <li>{@code ppo}: the PPO math in one file ({@code Ppo}) and the gold-vs-proxy curve;</li>
 *   <li>{@code reward}: the Bradley-Terry loss over a prompt's C(K,2) pairs;</li>
 *   <li>{@code config}: the stage config records and their loader (file, {@code --set});</li>
 *   <li>{@code train}: learning-rate schedule, resumable RNG and train state.</li>
 * </ul>
 */
package io.streamrlhf.learner;
