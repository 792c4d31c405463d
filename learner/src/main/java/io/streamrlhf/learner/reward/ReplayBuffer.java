package io.streamrlhf.learner.reward;

import io.streamrlhf.tasks.SplitMix64;
import java.util.ArrayList;
import java.util.List;

/**
 * Earlier training comparisons the reward trainer mixes into every step with the fresh ones, so
 * that what old labels taught is not forgotten while new ones arrive. Holds a uniform sample of
 * every comparison offered, at most {@code capacity} of them: reservoir sampling (Vitter 1985,
 * Algorithm R) — the n-th comparison offered is kept with probability capacity/n, in place of a
 * uniformly chosen one. Its draws come from the trainer's checkpointed random stream and its
 * contents ride in the checkpoint ({@link #state}), so a restarted trainer replays what an
 * uninterrupted one would.
 */
public final class ReplayBuffer {
  /**
   * What a checkpoint holds.
   *
   * @param offered comparisons offered so far (the reservoir's n)
   * @param comparisons the ones kept
   */
  public record State(long offered, List<RankedComparison> comparisons) {}

  private final int capacity;
  private final List<RankedComparison> kept;
  private long offered;

  public ReplayBuffer(int capacity) {
    this(capacity, new State(0, List.of()));
  }

  /**
   * The buffer a checkpoint saved; a smaller {@code capacity} than it was saved with keeps its
   * first comparisons (their positions are uniformly random, so they remain a uniform sample).
   */
  public ReplayBuffer(int capacity, State state) {
    if (capacity < 0) throw new IllegalArgumentException("capacity must be >= 0: " + capacity);
    this.capacity = capacity;
    var saved = state.comparisons();
    this.kept = new ArrayList<>(saved.subList(0, Math.min(capacity, saved.size())));
    this.offered = state.offered();
  }

  /** Offers one comparison: kept while there is room, then with probability capacity/n. */
  public void offer(RankedComparison comparison, SplitMix64 rng) {
    offered++;
    if (kept.size() < capacity) {
      kept.add(comparison);
      return;
    }
    if (capacity == 0) return;
    long slot = (long) (rng.nextDouble() * offered);
    if (slot < capacity) kept.set((int) slot, comparison);
  }

  /**
   * {@code n} distinct comparisons drawn uniformly from the buffer (all of them when it holds no
   * more), in the order drawn.
   */
  public List<RankedComparison> sample(int n, SplitMix64 rng) {
    if (n >= kept.size()) return List.copyOf(kept);
    var order = new ArrayList<>(kept);
    var drawn = new ArrayList<RankedComparison>(n);
    for (int i = 0; i < n; i++) {
      int j = i + rng.nextInt(order.size() - i); // a partial Fisher-Yates shuffle
      var swap = order.get(i);
      order.set(i, order.get(j));
      order.set(j, swap);
      drawn.add(order.get(i));
    }
    return drawn;
  }

  public int size() {
    return kept.size();
  }

  public long offered() {
    return offered;
  }

  public State state() {
    return new State(offered, List.copyOf(kept));
  }
}
