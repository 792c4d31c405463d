/**
 * The rollout side of the streaming loop as Vert.x worker verticles: {@link
 * io.streamrlhf.actors.RolloutActor} (prompts in, scored rollouts out) and {@link
 * io.streamrlhf.actors.WeightSubscriber} (whole, verified policy versions in), which talk only by
 * event-bus messages ({@link io.streamrlhf.actors.ActorEvents}); {@link
 * io.streamrlhf.actors.ActorNode} deploys the pair. The feedback gateway is in {@link
 * io.streamrlhf.actors.gateway}.
 */
package io.streamrlhf.actors;
