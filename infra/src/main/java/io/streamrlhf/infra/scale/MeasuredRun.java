package io.streamrlhf.infra.scale;

import io.streamrlhf.learner.stream.StreamStats;
import io.streamrlhf.schemas.Topics;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * What one measured loop did ({@code stream-stats.json}, the timestamped output lines, the
 * rollouts' own timestamps) and the costs it shows.
 *
 * <p>Where each cost comes from: an actor batch is the rollouts of one actor with one {@code
 * startedAt}, lasting until its last {@code producedAt}; batch b is complete at its last rollout's
 * {@code producedAt}; the learner's update u runs from max(batch u complete, version u published)
 * until its "update u+1/U" line, its checkpoint until "checkpoint v written", its publish until
 * "published policy v"; publish-to-apply from "checkpoint v written" until an actor's "policy v
 * applied" line. The learner waits from "published policy vu" until batch u is complete.
 */
record MeasuredRun(
    StreamStats.Summary summary, List<PinnedLoop.Line> lines, List<RolloutTimes> rollouts) {

  /** One rollout's stamps, read back from the topic. */
  record RolloutTimes(
      String actorId, String promptId, long policyVersion, long startedAt, long producedAt) {}

  private static final Pattern UPDATE = Pattern.compile("^learner: update (\\d+)/");
  private static final Pattern CHECKPOINT = Pattern.compile("^learner: checkpoint v(\\d+) written");
  private static final Pattern PUBLISHED = Pattern.compile("^learner: published policy v(\\d+) ");
  private static final Pattern APPLIED = Pattern.compile(": policy v(\\d+) applied");

  /** When batch b was complete: its last rollout's producedAt. */
  Map<Long, Long> batchComplete() {
    var complete = new TreeMap<Long, Long>();
    for (var r : rollouts) {
      var parts = r.promptId().split(":");
      complete.merge(Long.parseLong(parts[1]), r.producedAt(), Math::max);
    }
    return complete;
  }

  /** Per version or update number, when the learner's line matching {@code pattern} arrived. */
  Map<Long, Long> learnerLines(Pattern pattern) {
    var at = new TreeMap<Long, Long>();
    for (var l : lines) {
      if (!l.source().equals("learner")) continue;
      var m = pattern.matcher(l.text());
      if (m.find()) at.putIfAbsent(Long.parseLong(m.group(1)), l.millis());
    }
    return at;
  }

  /** The learner's time waiting for rollouts ÷ the run's seconds (stream-stats.json's). */
  double learnerIdleFraction() {
    var published = learnerLines(PUBLISHED);
    var complete = batchComplete();
    double idle = 0;
    for (var e : complete.entrySet()) {
      Long from = published.get(e.getKey());
      if (from != null) idle += Math.max(0, e.getValue() - from);
    }
    return idle / 1000 / summary.seconds();
  }

  /**
   * The costs this run shows, for {@code actorCores} shared by its actors (rate and overhead of an
   * actor alone on them: run this on a one-actor run).
   */
  LoopCosts costs(int promptsPerBatch, int responsesPerPrompt, int actorCores) {
    var published = learnerLines(PUBLISHED);
    var updated = learnerLines(UPDATE);
    var checkpointed = learnerLines(CHECKPOINT);
    var complete = batchComplete();
    var update = new ArrayList<Double>();
    var checkpoint = new ArrayList<Double>();
    var publish = new ArrayList<Double>();
    for (var e : updated.entrySet()) {
      long u = e.getKey();
      Long batch = complete.get(u - 1);
      Long before = published.get(u - 1);
      Long ckpt = checkpointed.get(u);
      Long pub = published.get(u);
      if (batch == null || before == null || ckpt == null || pub == null) continue;
      update.add((e.getValue() - Math.max(batch, before)) / 1000.0);
      checkpoint.add((ckpt - e.getValue()) / 1000.0);
      publish.add((pub - ckpt) / 1000.0);
    }
    var applyDelays = new ArrayList<Double>();
    for (var l : lines) {
      var m = APPLIED.matcher(l.text());
      if (!l.source().startsWith("actor") || !m.find()) continue;
      Long ckpt = checkpointed.get(Long.parseLong(m.group(1)));
      if (ckpt != null) applyDelays.add((l.millis() - ckpt) / 1000.0);
    }
    double[] fit = batchFit();
    double p2a = quantile(applyDelays, 0.1);
    return new LoopCosts(
        fit[1],
        fit[0],
        quantile(update, 0.5),
        quantile(checkpoint, 0.5),
        quantile(publish, 0.5),
        Math.max(p2a, 0.004),
        0.004,
        4,
        promptsPerBatch,
        responsesPerPrompt,
        promptsPerBatch,
        Topics.PROMPT_PARTITIONS,
        actorCores,
        Math.max(1, updated.size()));
  }

  /**
   * The actor batches' time against their rows, least squares: {overhead s, rollouts/s}; a pure
   * rate (overhead 0) when the batches are all one size or the fit's overhead is negative.
   */
  double[] batchFit() {
    var batches = new HashMap<String, long[]>(); // rows, start, end
    for (var r : rollouts) {
      batches.merge(
          r.actorId() + "@" + r.startedAt(),
          new long[] {1, r.startedAt(), r.producedAt()},
          (a, b) -> new long[] {a[0] + b[0], Math.min(a[1], b[1]), Math.max(a[2], b[2])});
    }
    double n = batches.size(), sx = 0, sy = 0, sxx = 0, sxy = 0, rows = 0, seconds = 0;
    for (var b : batches.values()) {
      double x = b[0], y = (b[2] - b[1]) / 1000.0;
      sx += x;
      sy += y;
      sxx += x * x;
      sxy += x * y;
      rows += x;
      seconds += y;
    }
    double denominator = n * sxx - sx * sx;
    if (n >= 3 && denominator > 1e-9) {
      double slope = (n * sxy - sx * sy) / denominator;
      double overhead = (sy - slope * sx) / n;
      if (slope > 0 && overhead >= 0) return new double[] {overhead, 1 / slope};
    }
    return new double[] {0, rows / seconds};
  }

  String line() {
    return String.format(
        "%.1f rollouts/s over %.1f s, learner idle %.3f, lag p50 %d p99 %d, %d stale",
        summary.rolloutsPerSecond(),
        summary.seconds(),
        learnerIdleFraction(),
        summary.lagP50(),
        summary.lagP99(),
        summary.droppedStale());
  }

  private static double quantile(List<Double> values, double q) {
    if (values.isEmpty()) return 0;
    var sorted = values.stream().mapToDouble(Double::doubleValue).toArray();
    Arrays.sort(sorted);
    return sorted[(int) Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  }
}
