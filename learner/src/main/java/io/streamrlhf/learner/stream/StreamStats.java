package io.streamrlhf.learner.stream;

import io.streamrlhf.model.checkpoint.Json;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * What the streaming learner measured over one process's run, written as {@value #FILE} into the
 * output directory: policy lag of the rollouts it applied (learner version − rollout's policy
 * version) as p50/p99/max, rollouts applied per second of wall time, and what it did not apply.
 */
public final class StreamStats {
  public static final String FILE = "stream-stats.json";

  private final long started = System.nanoTime();
  private long[] lags = new long[64];
  private int applied;
  private long droppedStale;
  private long duplicates;
  private long foreign;

  void applied(long lag) {
    if (applied == lags.length) lags = Arrays.copyOf(lags, applied * 2);
    lags[applied++] = lag;
  }

  void droppedStale() {
    droppedStale++;
  }

  void duplicate() {
    duplicates++;
  }

  void foreign() {
    foreign++;
  }

  long droppedStaleCount() {
    return droppedStale;
  }

  long duplicateCount() {
    return duplicates;
  }

  long foreignCount() {
    return foreign;
  }

  /**
   * The figures so far.
   *
   * @param deadLettered rollout records that did not decode (sent to the dead-letter topic)
   */
  public Summary summary(long deadLettered) {
    var sorted = Arrays.copyOf(lags, applied);
    Arrays.sort(sorted);
    double seconds = (System.nanoTime() - started) / 1e9;
    return new Summary(
        applied,
        applied / Math.max(seconds, 1e-9),
        percentile(sorted, 0.50),
        percentile(sorted, 0.99),
        sorted.length == 0 ? 0 : sorted[sorted.length - 1],
        droppedStale,
        duplicates,
        foreign,
        deadLettered,
        seconds,
        0,
        0,
        0);
  }

  /** Nearest-rank percentile; 0 when nothing was applied. */
  static long percentile(long[] sorted, double q) {
    if (sorted.length == 0) return 0;
    int rank = (int) Math.ceil(q * sorted.length);
    return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
  }

  /** The JSON written to {@value #FILE}. */
  public record Summary(
      long rolloutsApplied,
      double rolloutsPerSecond,
      long lagP50,
      long lagP99,
      long lagMax,
      long droppedStale,
      long duplicatesSkipped,
      long foreignSkipped,
      long deadLettered,
      double seconds,
      long weightSwaps,
      long publishToApplyMsP50,
      long publishToApplyMsMax) {
    /**
     * With the actors' weight swaps: how long from publishing a version to an actor sampling with
     * it.
     */
    public Summary withPublishToApply(long[] millis) {
      var sorted = millis.clone();
      Arrays.sort(sorted);
      return new Summary(
          rolloutsApplied,
          rolloutsPerSecond,
          lagP50,
          lagP99,
          lagMax,
          droppedStale,
          duplicatesSkipped,
          foreignSkipped,
          deadLettered,
          seconds,
          sorted.length,
          percentile(sorted, 0.5),
          sorted.length == 0 ? 0 : sorted[sorted.length - 1]);
    }

    public void write(Path dir) throws IOException {
      Json.writeAtomically(this, dir.resolve(FILE));
    }

    public static Summary read(Path dir) throws IOException {
      return Json.MAPPER.readValue(dir.resolve(FILE).toFile(), Summary.class);
    }

    public String line() {
      return String.format(
          "policy lag p50 %d, p99 %d, max %d; %.2f rollouts/s (%d applied, %d dropped as stale, "
              + "%d duplicates skipped, %d dead-lettered)%s",
          lagP50,
          lagP99,
          lagMax,
          rolloutsPerSecond,
          rolloutsApplied,
          droppedStale,
          duplicatesSkipped,
          deadLettered,
          weightSwaps == 0
              ? ""
              : String.format(
                  "; weights publish-to-apply p50 %d ms, max %d ms over %d actor swaps",
                  publishToApplyMsP50, publishToApplyMsMax, weightSwaps));
    }
  }
}
