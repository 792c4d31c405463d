package io.streamrlhf.actors;

import io.streamrlhf.schemas.PublishedWeights;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The newest whole policy version an actor received and has not applied yet. The policy weight
 * subscriber puts versions in from its own thread; the actor takes the newest out from its thread,
 * between batches or, in flight, between two decode steps of a batch. It cannot be an event-bus
 * message alone: the actor's context is busy for the whole batch, so a message would only be
 * handled after it. The one piece of state two verticles share, a single atomic reference to
 * immutable bytes.
 */
final class PolicyMailbox {
  private final AtomicReference<PublishedWeights> newest = new AtomicReference<>();

  /** Keeps {@code weights} unless a newer version is already waiting. */
  void offer(PublishedWeights weights) {
    newest.accumulateAndGet(
        weights,
        (held, offered) -> held == null || offered.version() > held.version() ? offered : held);
  }

  /** The newest waiting version, or null; it is no longer waiting afterwards. */
  PublishedWeights take() {
    return newest.getAndSet(null);
  }
}
