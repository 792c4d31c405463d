package io.streamrlhf.learner.stream;

import java.util.Map;
import java.util.TreeMap;

/**
 * How busy each actor was, from the timestamps its rollouts carry: a batch's rollouts share the
 * moment its sampling began ({@code startedAt}) and end when the last was handed to Kafka ({@code
 * producedAt}). An actor's idle time is its window, from its first batch's start to its last
 * batch's end as far as the learner has read, less the time inside batches: time with no prompt to
 * answer or waiting for a policy version (loading new weights falls between batches too). Both
 * timestamps come from the actor's own clock, so actors on other machines need no shared clock with
 * the learner. The fraction is pooled over actors (idle seconds over window seconds).
 */
final class ActorActivity {
  /** Batches kept open for late rollouts (of other partitions) before their time is folded in. */
  static final int OPEN_BATCHES = 64;

  /** One actor's account, as a checkpoint holds it. */
  record Saved(long firstStartMs, long lastEndMs, long busyMs, long closedThroughMs) {}

  private final Map<String, Actor> actors = new TreeMap<>();

  private static final class Actor {
    long first;
    long last;
    long busyClosed;
    long closedThrough;
    final TreeMap<Long, Long> open = new TreeMap<>();

    Actor(long first, long last, long busyClosed, long closedThrough) {
      this.first = first;
      this.last = last;
      this.busyClosed = busyClosed;
      this.closedThrough = closedThrough;
    }

    long busy() {
      long busy = busyClosed;
      for (var batch : open.entrySet()) busy += batch.getValue() - batch.getKey();
      return busy;
    }
  }

  static ActorActivity resume(Map<String, Saved> saved) {
    var activity = new ActorActivity();
    saved.forEach(
        (id, s) ->
            activity.actors.put(
                id, new Actor(s.firstStartMs(), s.lastEndMs(), s.busyMs(), s.closedThroughMs())));
    return activity;
  }

  /**
   * A rollout of {@code actorId}'s batch that began at {@code startedMs}, produced at {@code
   * producedMs}.
   */
  void rollout(String actorId, long startedMs, long producedMs) {
    long end = Math.max(startedMs, producedMs);
    var actor = actors.get(actorId);
    if (actor == null) {
      actor = new Actor(startedMs, end, 0, Long.MIN_VALUE);
      actors.put(actorId, actor);
    }
    actor.first = Math.min(actor.first, startedMs);
    actor.last = Math.max(actor.last, end);
    if (startedMs <= actor.closedThrough) return; // its batch is counted already
    actor.open.merge(startedMs, end, Math::max);
    if (actor.open.size() > OPEN_BATCHES) {
      var oldest = actor.open.pollFirstEntry();
      actor.busyClosed += oldest.getValue() - oldest.getKey();
      actor.closedThrough = oldest.getKey();
    }
  }

  /** Idle share of the actors' pooled windows, in [0, 1]; null before any window opened. */
  Double idleFraction() {
    long window = 0;
    long busy = 0;
    for (var actor : actors.values()) {
      window += actor.last - actor.first;
      busy += actor.busy();
    }
    return window > 0 ? Math.max(0, Math.min(1, 1 - (double) busy / window)) : null;
  }

  /** The accounts so far, open batches folded in (a later rollout of one is not counted again). */
  Map<String, Saved> saved() {
    var saved = new TreeMap<String, Saved>();
    actors.forEach(
        (id, a) ->
            saved.put(
                id,
                new Saved(
                    a.first,
                    a.last,
                    a.busy(),
                    a.open.isEmpty() ? a.closedThrough : a.open.lastKey())));
    return saved;
  }
}
