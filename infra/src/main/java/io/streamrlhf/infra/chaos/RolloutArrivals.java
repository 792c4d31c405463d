package io.streamrlhf.infra.chaos;

import io.streamrlhf.schemas.Topics;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/**
 * When the loop's rollouts reached the broker (their record timestamps, set by the producing
 * actor), read by a {@link Tap}: the longest gap between two is the time the loop produced nothing.
 * Records chaos injected are left out.
 */
final class RolloutArrivals implements AutoCloseable {
  private final List<Long> timestamps = Collections.synchronizedList(new ArrayList<>());
  private final Tap tap;

  RolloutArrivals(String bootstrap) {
    tap =
        new Tap(
            bootstrap,
            "rollout-arrivals",
            List.of(Topics.ROLLOUTS),
            r -> {
              if (!Tap.injected(r)) timestamps.add(r.timestamp());
            });
  }

  int count() {
    return timestamps.size();
  }

  /** The longest time between two consecutive rollouts, in seconds; null with fewer than two. */
  Double longestGapSeconds() {
    List<Long> sorted;
    synchronized (timestamps) {
      sorted = new ArrayList<>(timestamps);
    }
    if (sorted.size() < 2) return null;
    Collections.sort(sorted);
    long gap = 0;
    for (int i = 1; i < sorted.size(); i++) gap = Math.max(gap, sorted.get(i) - sorted.get(i - 1));
    return gap / 1000.0;
  }

  @Override
  public void close() {
    tap.close();
  }
}
