package io.streamrlhf.learner.stream;

/**
 * How long the learner waited for rollouts, over the window from its first update's start (the
 * first batch complete) to its last update's end (its weights published): the share of that wall
 * time in which it had nothing to compute, checkpoint or publish. The wait for the first batch is
 * start-up (actors loading their models, sampling the first batch) and stays out, in every process
 * of a restarted run alike. Times in nanoseconds of one monotonic clock, passed in.
 */
final class LearnerIdle {
  private final double idleSecondsBefore;
  private final double windowSecondsBefore;
  private long windowStart = -1;
  private long windowEnd = -1;
  private long idle;

  /** A run's account, continuing from the seconds an earlier process counted. */
  LearnerIdle(double idleSecondsBefore, double windowSecondsBefore) {
    this.idleSecondsBefore = idleSecondsBefore;
    this.windowSecondsBefore = windowSecondsBefore;
  }

  /** The learner waited from {@code from} to {@code to} for the rollouts of its next update. */
  void waited(long from, long to) {
    if (windowStart < 0) windowStart = to;
    else idle += to - from;
  }

  /** An update (computed, checkpointed, published) ended at {@code at}. */
  void updateEnded(long at) {
    if (windowStart >= 0) windowEnd = Math.max(windowEnd, at);
  }

  double idleSeconds() {
    return idleSecondsBefore + (windowEnd < 0 ? 0 : idle / 1e9);
  }

  double windowSeconds() {
    return windowSecondsBefore + (windowEnd < 0 ? 0 : (windowEnd - windowStart) / 1e9);
  }

  /** Idle share of the window, in [0, 1]; null before any update ended. */
  Double fraction() {
    double window = windowSeconds();
    return window > 0 ? Math.min(1, idleSeconds() / window) : null;
  }
}
