package io.streamrlhf.learner.stream;

import com.fasterxml.jackson.databind.DeserializationFeature;
import io.streamrlhf.model.checkpoint.Json;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;

/**
 * What the streaming learner measured over its whole run, written as {@value #FILE} into the output
 * directory: policy lag of the rollouts it applied (learner version − rollout's policy version) as
 * p50/p99/max, rollouts applied per second of learner wall time, what it did not apply, and how
 * idle the learner ({@link LearnerIdle}) and the actors ({@link ActorActivity}) were.
 *
 * <p>Cumulative across processes: every checkpoint holds the figures so far ({@link #saved}), and a
 * resumed learner continues from them ({@link #resume}). Figures of work done after the last
 * checkpoint of a killed process are lost with that work, which the resumed process does again: a
 * run's figures count each rollout applied once, however often its learner was restarted.
 */
public final class StreamStats {
  public static final String FILE = "stream-stats.json";

  private final long started = System.nanoTime();
  private final TreeMap<Long, Long> lags = new TreeMap<>();

  /**
   * Lag of every applied response token (learner version − the version that sampled the token):
   * with in-flight swaps, fresher than its rollout's lag, which counts the oldest token. Carried
   * across restarts like the rollout lags.
   */
  private final TreeMap<Long, Long> tokenLags = new TreeMap<>();

  private long tokens;
  private long applied;
  private long droppedStale;
  private long duplicates;
  private long foreign;
  private long requestedAgain;
  private long deadLetteredBefore;
  private double secondsBefore;
  private long resumes;
  private LearnerIdle learnerIdle = new LearnerIdle(0, 0);
  private ActorActivity actors = new ActorActivity();

  /** The figures a checkpoint holds, to continue from after a restart. */
  record Saved(
      long applied,
      Map<Long, Long> lagCounts,
      long droppedStale,
      long duplicates,
      long foreign,
      long requestedAgain,
      long deadLettered,
      double seconds,
      long resumes,
      double learnerIdleSeconds,
      double learnerWindowSeconds,
      Map<String, ActorActivity.Saved> actors,
      Map<Long, Long> tokenLagCounts) {}

  /** A resumed run's figures: those {@code saved} held, this process counting on from them. */
  static StreamStats resume(Saved saved) {
    var stats = new StreamStats();
    stats.applied = saved.applied();
    stats.lags.putAll(saved.lagCounts());
    stats.droppedStale = saved.droppedStale();
    stats.duplicates = saved.duplicates();
    stats.foreign = saved.foreign();
    stats.requestedAgain = saved.requestedAgain();
    stats.deadLetteredBefore = saved.deadLettered();
    stats.secondsBefore = saved.seconds();
    stats.resumes = saved.resumes() + 1;
    stats.learnerIdle = new LearnerIdle(saved.learnerIdleSeconds(), saved.learnerWindowSeconds());
    stats.actors = ActorActivity.resume(saved.actors());
    stats.tokenLags.putAll(saved.tokenLagCounts());
    stats.tokens = saved.tokenLagCounts().values().stream().mapToLong(Long::longValue).sum();
    return stats;
  }

  /**
   * The figures so far, for the checkpoint.
   *
   * @param deadLettered rollout records this process sent to the dead-letter topic
   */
  Saved saved(long deadLettered) {
    return new Saved(
        applied,
        new TreeMap<>(lags),
        droppedStale,
        duplicates,
        foreign,
        requestedAgain,
        deadLetteredBefore + deadLettered,
        seconds(),
        resumes,
        learnerIdle.idleSeconds(),
        learnerIdle.windowSeconds(),
        actors.saved(),
        new TreeMap<>(tokenLags));
  }

  /** The learner waited from {@code from} to {@code to} (System.nanoTime) for rollouts. */
  void waitedForRollouts(long from, long to) {
    learnerIdle.waited(from, to);
  }

  /** An update ended (its checkpoint written, or its weights published) at {@code at}. */
  void updateEnded(long at) {
    learnerIdle.updateEnded(at);
  }

  /** A rollout of this run read for the first time: its actor was busy sampling it. */
  void rolloutRead(String actorId, long startedMs, long producedMs) {
    actors.rollout(actorId, startedMs, producedMs);
  }

  void applied(long lag) {
    lags.merge(lag, 1L, Long::sum);
    applied++;
  }

  /** Counts the lags of one applied rollout's tokens, one version per response token. */
  void appliedTokens(long version, long[] tokenVersions) {
    for (long v : tokenVersions) {
      tokenLags.merge(Math.max(0, version - v), 1L, Long::sum);
      tokens++;
    }
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

  void requestedAgain() {
    requestedAgain++;
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

  private double seconds() {
    return secondsBefore + (System.nanoTime() - started) / 1e9;
  }

  /**
   * The figures so far.
   *
   * @param deadLettered rollout records this process sent to the dead-letter topic
   */
  public Summary summary(long deadLettered) {
    double seconds = seconds();
    return new Summary(
        applied,
        applied / Math.max(seconds, 1e-9),
        percentile(lags, applied, 0.50),
        percentile(lags, applied, 0.99),
        lags.isEmpty() ? 0 : lags.lastKey(),
        droppedStale,
        duplicates,
        foreign,
        deadLetteredBefore + deadLettered,
        seconds,
        null, // the actors' weight swaps: measured only where they run in this process
        null,
        null,
        requestedAgain,
        resumes,
        percentile(tokenLags, tokens, 0.50),
        percentile(tokenLags, tokens, 0.99),
        learnerIdle.fraction(),
        actors.idleFraction());
  }

  /** Nearest-rank percentile of a histogram (value → count) of {@code total} values. */
  static long percentile(TreeMap<Long, Long> counts, long total, double q) {
    if (total == 0) return 0;
    long rank = Math.max(1, Math.min(total, (long) Math.ceil(q * total)));
    long seen = 0;
    for (var entry : counts.entrySet()) {
      seen += entry.getValue();
      if (seen >= rank) return entry.getKey();
    }
    return counts.lastKey();
  }

  /** Nearest-rank percentile; 0 when nothing was applied. */
  static long percentile(long[] sorted, double q) {
    if (sorted.length == 0) return 0;
    int rank = (int) Math.ceil(q * sorted.length);
    return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
  }

  /**
   * The JSON written to {@value #FILE}. {@code weightSwaps} and the publish-to-apply figures are
   * null where they were not measured: a learner whose actors run in other processes sees no swap,
   * and a run without swaps has no publish-to-apply.
   */
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
      Long weightSwaps,
      Long publishToApplyMsP50,
      Long publishToApplyMsMax,
      long promptsRequestedAgain,
      long resumes,
      long tokenLagP50,
      long tokenLagP99,
      Double learnerIdleFraction,
      Double actorIdleFraction) {
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
          (long) sorted.length,
          sorted.length == 0 ? null : percentile(sorted, 0.5),
          sorted.length == 0 ? null : sorted[sorted.length - 1],
          promptsRequestedAgain,
          resumes,
          tokenLagP50,
          tokenLagP99,
          learnerIdleFraction,
          actorIdleFraction);
    }

    public void write(Path dir) throws IOException {
      Json.writeAtomically(this, dir.resolve(FILE));
    }

    public static Summary read(Path dir) throws IOException {
      // the idle fractions are null where nothing was measured (or in a file from before them)
      return Json.MAPPER
          .readerFor(Summary.class)
          .without(DeserializationFeature.FAIL_ON_NULL_CREATOR_PROPERTIES)
          .readValue(dir.resolve(FILE).toFile());
    }

    public String line() {
      return String.format(
          "policy lag p50 %d, p99 %d, max %d; %.2f rollouts/s (%d applied, %d dropped as stale"
              + " and %d prompts asked again, %d duplicates skipped, %d dead-lettered%s)%s%s%s",
          lagP50,
          lagP99,
          lagMax,
          rolloutsPerSecond,
          rolloutsApplied,
          droppedStale,
          promptsRequestedAgain,
          duplicatesSkipped,
          deadLettered,
          resumes == 0 ? "" : String.format("; over %d learner processes", resumes + 1),
          weightSwaps == null || weightSwaps == 0
              ? ""
              : String.format(
                  "; weights publish-to-apply p50 %d ms, max %d ms over %d actor swaps",
                  publishToApplyMsP50, publishToApplyMsMax, weightSwaps),
          tokenLagP50 == lagP50 && tokenLagP99 == lagP99
              ? ""
              : String.format("; token lag p50 %d, p99 %d", tokenLagP50, tokenLagP99),
          learnerIdleFraction == null
              ? ""
              : String.format(
                  "; idle: learner %.0f%%, actors %s",
                  100 * learnerIdleFraction,
                  actorIdleFraction == null
                      ? "unknown"
                      : String.format("%.0f%%", 100 * actorIdleFraction)));
    }
  }
}
