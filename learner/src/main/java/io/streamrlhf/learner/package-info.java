/**
 * streamrlhf learner module: see the module table in the README.
 *
 * <ul>
 *   <li>{@code ppo}: the PPO math in one file ({@code Ppo}); the rollout side ({@code
 *       RolloutSampler} over model's {@code RolloutGenerator} → {@code RolloutBatch}) and the
 *       update side ({@code PpoLearner}) kept apart so Kafka can stand between them; the one PPO
 *       loop ({@code PpoLoop}) over a {@code RolloutSource} (in process: {@code SampledRollouts})
 *       and the gold-vs-proxy curve;
 *   <li>{@code stream}: the Kafka rollout source ({@code KafkaRollouts}): prompt feed with flow
 *       control, rollouts from Kafka under a staleness bound, exactly-once checkpoints of offsets
 *       and consumed rollout ids, weights published after every update;
 *   <li>{@code reward}: the Bradley-Terry loss over a prompt's C(K,2) pairs, the reward-model
 *       trainer, and the reward stage (SFT samples → labeler rankings → RM + score statistics);
 *   <li>{@code config}: the stage config records and their loader (file, {@code --set});
 *   <li>{@code train}: the reusable training loop ({@code TrainingRun}: model's AdamW, schedule,
 *       RNG, data position, atomic checkpoints through model's {@code Checkpoint}), learning-rate
 *       schedule, resumable RNG, train state;
 *   <li>{@code pretrain}: the base model on corpus windows; {@code sft}: fine-tuning on
 *       demonstrations with a response-only loss;
 *   <li>{@code eval}: batched seeded sampling and the InstructGPT-style table.
 * </ul>
 */
package io.streamrlhf.learner;
