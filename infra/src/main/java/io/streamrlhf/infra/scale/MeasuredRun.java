package io.streamrlhf.infra.scale;

import io.streamrlhf.learner.stream.StreamStats;
import io.streamrlhf.schemas.Topics;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
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
 * until its "update u+1/U" line (means over the run: a serial server's throughput follows them),
 * its checkpoint until "checkpoint v written", its publish until "published policy v";
 * publish-to-apply from "checkpoint v written" until an actor's "policy v applied" line. The
 * learner waits from "published policy vu" until batch u is complete.
 */
record MeasuredRun(
    StreamStats.Summary summary, List<PinnedLoop.Line> lines, List<RolloutTimes> rollouts) {

  /** One rollout's stamps, read back from the topic. */
  record RolloutTimes(
      String actorId, String promptId, long policyVersion, long startedAt, long producedAt) {}

  static final String TRANSCRIPT = "transcript.txt";
  static final String ROLLOUTS = "rollouts.csv";

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

  /** The files {@link #save} wrote in {@code runDir}. */
  static MeasuredRun load(Path runDir) throws IOException {
    var lines = new ArrayList<PinnedLoop.Line>();
    for (var text : Files.readAllLines(runDir.resolve(TRANSCRIPT))) {
      int space = text.indexOf(' ');
      int bar = text.indexOf(" | ");
      lines.add(
          new PinnedLoop.Line(
              text.substring(space + 1, bar),
              Long.parseLong(text.substring(0, space)),
              text.substring(bar + 3)));
    }
    var rollouts = new ArrayList<RolloutTimes>();
    for (var text : Files.readAllLines(runDir.resolve(ROLLOUTS))) {
      if (text.startsWith("actor_id,")) continue;
      var f = text.split(",");
      rollouts.add(
          new RolloutTimes(
              f[0], f[1], Long.parseLong(f[2]), Long.parseLong(f[3]), Long.parseLong(f[4])));
    }
    return new MeasuredRun(StreamStats.Summary.read(runDir.resolve("learner")), lines, rollouts);
  }

  /** Writes the lines and rollouts beside the learner's output, for {@link #load}. */
  void save(Path runDir) throws IOException {
    Files.write(
        runDir.resolve(TRANSCRIPT),
        lines.stream().map(l -> l.millis() + " " + l.source() + " | " + l.text()).toList());
    var csv = new ArrayList<String>();
    csv.add("actor_id,prompt_id,policy_version,started_at_ms,produced_at_ms");
    for (var r : rollouts)
      csv.add(
          String.join(
              ",",
              r.actorId(),
              r.promptId(),
              "" + r.policyVersion(),
              "" + r.startedAt(),
              "" + r.producedAt()));
    Files.write(runDir.resolve(ROLLOUTS), csv);
  }

  /**
   * Rollouts/s and the learner's idle fraction from version {@code from}'s publish to the last
   * one's, as {@link LoopSimulation.Result#window}.
   */
  LoopSimulation.Window window(int from, int updates, long rolloutsPerBatch) {
    var published = learnerLines(PUBLISHED);
    var complete = batchComplete();
    var at = new double[updates + 1];
    var waited = new double[updates];
    for (int v = 0; v <= updates; v++) {
      Long t = published.get((long) v);
      if (t == null) throw new IllegalStateException("no 'published policy v" + v + "' line");
      at[v] = t / 1000.0;
    }
    for (int b = 0; b < updates; b++) {
      Long done = complete.get((long) b);
      if (done != null) waited[b] = Math.max(0, done / 1000.0 - at[b]);
    }
    return LoopSimulation.Window.of(at, waited, from, rolloutsPerBatch);
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
   * The costs this run shows after version {@code warmup}, for {@code actorCores} shared by its
   * actors.
   */
  LoopCosts costs(int promptsPerBatch, int responsesPerPrompt, int actorCores, int warmup) {
    var published = learnerLines(PUBLISHED);
    var updated = learnerLines(UPDATE);
    var checkpointed = learnerLines(CHECKPOINT);
    var complete = batchComplete();
    var update = new ArrayList<Double>();
    var checkpoint = new ArrayList<Double>();
    var publish = new ArrayList<Double>();
    for (var e : updated.entrySet()) {
      long u = e.getKey();
      if (u <= warmup) continue; // the window the figures are compared over
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
        mean(update),
        mean(checkpoint),
        mean(publish),
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
   * The actors' time against their rows: {overhead s, rollouts/s of one actor alone on the cores}.
   * With one actor, a least-squares fit of batch time against rows (a pure rate when the batches
   * are all one size or the fit's overhead is negative). With several sharing cores, their rows ÷
   * the time at least one of them was sampling: what one actor alone would do, if sharing costs
   * nothing.
   */
  double[] batchFit() {
    var batches = new HashMap<String, long[]>(); // rows, start, end
    for (var r : rollouts) {
      batches.merge(
          r.actorId() + "@" + r.startedAt(),
          new long[] {1, r.startedAt(), r.producedAt()},
          (a, b) -> new long[] {a[0] + b[0], Math.min(a[1], b[1]), Math.max(a[2], b[2])});
    }
    boolean oneActor = rollouts.stream().map(RolloutTimes::actorId).distinct().count() == 1;
    double n = batches.size(), sx = 0, sy = 0, sxx = 0, sxy = 0, rows = 0;
    for (var b : batches.values()) {
      double x = b[0], y = (b[2] - b[1]) / 1000.0;
      sx += x;
      sy += y;
      sxx += x * x;
      sxy += x * y;
      rows += x;
    }
    double denominator = n * sxx - sx * sx;
    if (oneActor && n >= 3 && denominator > 1e-9) {
      double slope = (n * sxy - sx * sy) / denominator;
      double overhead = (sy - slope * sx) / n;
      if (slope > 0 && overhead >= 0) return new double[] {overhead, 1 / slope};
    }
    // the union of the batches' intervals
    var intervals = batches.values().stream().sorted((a, b) -> Long.compare(a[1], b[1])).toList();
    double busy = 0;
    long start = -1, end = -1;
    for (var b : intervals) {
      if (b[1] > end) {
        if (end > start) busy += (end - start) / 1000.0;
        start = b[1];
        end = b[2];
      } else {
        end = Math.max(end, b[2]);
      }
    }
    if (end > start) busy += (end - start) / 1000.0;
    return new double[] {0, rows / busy};
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

  /** A serial server's throughput follows its mean time, not its median. */
  private static double mean(List<Double> values) {
    return values.stream().mapToDouble(Double::doubleValue).average().orElse(0);
  }

  private static double quantile(List<Double> values, double q) {
    if (values.isEmpty()) return 0;
    var sorted = values.stream().mapToDouble(Double::doubleValue).toArray();
    Arrays.sort(sorted);
    return sorted[(int) Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  }
}
