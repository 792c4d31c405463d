/**
 * The rollout side of the streaming loop as Vert.x worker verticles: {@link
 * io.streamrlhf.actors.RolloutActor} (prompts in, scored rollouts and label requests out) and its
 * {@link io.streamrlhf.actors.WeightSubscriber}s (whole, verified policy and reward-model versions
 * in), which talk only by event-bus messages ({@link io.streamrlhf.actors.ActorEvents}); {@link
 * io.streamrlhf.actors.ActorNode} deploys them together. {@link
 * io.streamrlhf.actors.SimulatedLabelers} closes the feedback loop without people: label requests
 * in, TASKS.md's labelers' comparisons out. The feedback gateway is in {@link
 * io.streamrlhf.actors.gateway}.
 */
package io.streamrlhf.actors;
