package io.streamrlhf.infra.scale;

import io.streamrlhf.learner.stream.StreamStats;
import io.streamrlhf.schemas.Topics;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.SortedMap;
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
 *
 * <p>The broker's costs, read from the same stamps under {@link LoopSimulation}'s rule (the
 * broker's work shares the actors' cores evenly with the sampling actors): a publish with k̄ actors
 * sampling on average takes the learner's own part + ingest × max(1, (1 + k̄) ÷ cores), a
 * least-squares line through the versions after the warmup (all ingest when k̄ never varies); a
 * copy is what is left of an idle actor's "published" → "applied" after its load, shared with the
 * other actors' copies and the actors sampling meanwhile. The actor's own rate is its rows ÷ the
 * CPU it had: batch time less the broker's CPU in it, the broker's work spread evenly over its
 * windows (the ingest from the learner's own part to "published", a copy from "published" to the
 * actor's load). One run's batches all have one size, so a fixed cost per batch cannot be told from
 * the rate in it; {@link #actorFit} reads both from single-actor runs of two batch sizes.
 */
record MeasuredRun(
    StreamStats.Summary summary,
    List<PinnedLoop.Line> lines,
    List<RolloutTimes> rollouts,
    List<CpuSampler.Sample> cpu) {

  /** One rollout's stamps, read back from the topic. */
  record RolloutTimes(
      String actorId, String promptId, long policyVersion, long startedAt, long producedAt) {}

  static final String TRANSCRIPT = "transcript.txt";
  static final String ROLLOUTS = "rollouts.csv";
  static final String CPU = "cpu.csv";

  private static final Pattern UPDATE = Pattern.compile("^learner: update (\\d+)/");
  private static final Pattern CHECKPOINT = Pattern.compile("^learner: checkpoint v(\\d+) written");
  private static final Pattern PUBLISHED = Pattern.compile("^learner: published policy v(\\d+) ");
  private static final Pattern APPLIED = Pattern.compile(": policy v(\\d+) applied");

  /** One actor batch: its rows, from its {@code startedAt} to its last {@code producedAt}. */
  record Batch(String actor, int rows, long start, long end) {}

  /** An actor's "policy v applied" line. */
  record Applied(String actor, long version, long millis) {}

  /** What the broker costs (CPU-seconds) and the learner's own part of a publish, in seconds. */
  record BrokerCosts(double learnerPublishS, double ingestS, double serveS) {}

  /** The actor's load into its policy (bench's actor_load: 3.6 ms), not in the runs' output. */
  static final double ACTOR_LOAD_S = 0.004;

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
    var cpu = new ArrayList<CpuSampler.Sample>();
    if (Files.exists(runDir.resolve(CPU))) { // validations before the CPU was recorded have none
      for (var text : Files.readAllLines(runDir.resolve(CPU))) {
        if (text.startsWith("source,")) continue;
        var f = text.split(",");
        cpu.add(new CpuSampler.Sample(f[0], Long.parseLong(f[1]), Double.parseDouble(f[2])));
      }
    }
    return new MeasuredRun(
        StreamStats.Summary.read(runDir.resolve("learner")), lines, rollouts, cpu);
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
    var cpuCsv = new ArrayList<String>();
    cpuCsv.add("source,millis,cpu_s");
    for (var c : cpu) cpuCsv.add(c.source() + "," + c.millis() + "," + c.cpuS());
    Files.write(runDir.resolve(CPU), cpuCsv);
  }

  /**
   * The CPU seconds the processes whose source starts with {@code prefix} spent per version from
   * version {@code warmup}'s publish to the last one's (their samples interpolated at both); empty
   * when the run has no samples spanning both (runs saved before the validation recorded CPU time).
   */
  OptionalDouble cpuPerVersion(String prefix, int warmup) {
    var published = learnerLines(PUBLISHED);
    Long from = published.get((long) warmup);
    if (from == null) return OptionalDouble.empty();
    long lastVersion = published.keySet().stream().mapToLong(Long::longValue).max().orElse(0);
    long to = published.get(lastVersion);
    if (lastVersion <= warmup) return OptionalDouble.empty();
    var bySource = new TreeMap<String, List<CpuSampler.Sample>>();
    for (var c : cpu)
      if (c.source().startsWith(prefix))
        bySource.computeIfAbsent(c.source(), k -> new ArrayList<>()).add(c);
    if (bySource.isEmpty()) return OptionalDouble.empty();
    double total = 0;
    for (var samples : bySource.values()) {
      var start = cpuAt(samples, from);
      var end = cpuAt(samples, to);
      if (start.isEmpty() || end.isEmpty()) return OptionalDouble.empty();
      total += end.getAsDouble() - start.getAsDouble();
    }
    return OptionalDouble.of(total / (lastVersion - warmup));
  }

  /** A process's CPU seconds at {@code millis}, between the samples around it. */
  private static OptionalDouble cpuAt(List<CpuSampler.Sample> samples, long millis) {
    var sorted =
        samples.stream().sorted(Comparator.comparingLong(CpuSampler.Sample::millis)).toList();
    for (int i = 1; i < sorted.size(); i++) {
      var a = sorted.get(i - 1);
      var b = sorted.get(i);
      if (a.millis() <= millis && millis <= b.millis()) {
        double f =
            b.millis() == a.millis()
                ? 0
                : (millis - a.millis()) / (double) (b.millis() - a.millis());
        return OptionalDouble.of(a.cpuS() + f * (b.cpuS() - a.cpuS()));
      }
    }
    return OptionalDouble.empty();
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
    for (var a : applied()) {
      Long ckpt = checkpointed.get(a.version());
      if (ckpt != null) applyDelays.add((a.millis() - ckpt) / 1000.0);
    }
    var broker = brokerCosts(actorCores, warmup);
    double[] fit = batchFit(actorCores, warmup, broker);
    double p2a = quantile(applyDelays, 0.1);
    return new LoopCosts(
        fit[1],
        fit[0],
        mean(update),
        mean(checkpoint),
        broker.learnerPublishS(),
        Math.max(p2a, ACTOR_LOAD_S),
        ACTOR_LOAD_S,
        broker.ingestS(),
        broker.serveS(),
        4,
        promptsPerBatch,
        responsesPerPrompt,
        promptsPerBatch,
        Topics.PROMPT_PARTITIONS,
        actorCores,
        Math.max(1, updated.size()));
  }

  /** The actor batches, in order of their start. */
  List<Batch> batches() {
    var batches = new HashMap<String, long[]>(); // rows, start, end
    var actor = new HashMap<String, String>();
    for (var r : rollouts) {
      String key = r.actorId() + "@" + r.startedAt();
      actor.put(key, r.actorId());
      batches.merge(
          key,
          new long[] {1, r.startedAt(), r.producedAt()},
          (a, b) -> new long[] {a[0] + b[0], Math.min(a[1], b[1]), Math.max(a[2], b[2])});
    }
    var list = new ArrayList<Batch>();
    for (var e : batches.entrySet()) {
      var b = e.getValue();
      list.add(new Batch(actor.get(e.getKey()), (int) b[0], b[1], b[2]));
    }
    list.sort(Comparator.comparingLong(Batch::start).thenComparing(Batch::actor));
    return list;
  }

  /** The actors' "policy v applied" lines. */
  List<Applied> applied() {
    var applied = new ArrayList<Applied>();
    for (var l : lines) {
      var m = APPLIED.matcher(l.text());
      if (l.source().startsWith("actor") && m.find())
        applied.add(new Applied(l.source(), Long.parseLong(m.group(1)), l.millis()));
    }
    return applied;
  }

  /** Per version after {@code warmup}: checkpoint written → published, seconds. */
  Map<Long, Double> publishTimes(int warmup) {
    var published = learnerLines(PUBLISHED);
    var checkpointed = learnerLines(CHECKPOINT);
    var took = new TreeMap<Long, Double>();
    for (var e : published.entrySet()) {
      Long ckpt = checkpointed.get(e.getKey());
      if (e.getKey() > warmup && ckpt != null) took.put(e.getKey(), (e.getValue() - ckpt) / 1000.0);
    }
    return took;
  }

  /** Per actor and version after {@code warmup}: checkpoint written → applied, seconds. */
  List<Double> applyTimes(int warmup) {
    var checkpointed = learnerLines(CHECKPOINT);
    var took = new ArrayList<Double>();
    for (var a : applied()) {
      Long ckpt = checkpointed.get(a.version());
      if (a.version() > warmup && ckpt != null) took.add((a.millis() - ckpt) / 1000.0);
    }
    return took;
  }

  /**
   * The broker's costs this run shows after version {@code warmup}, its work sharing {@code
   * actorCores} evenly with the sampling actors (see the class comment).
   */
  BrokerCosts brokerCosts(int actorCores, int warmup) {
    int cores = Math.max(1, actorCores);
    var published = learnerLines(PUBLISHED);
    var checkpointed = learnerLines(CHECKPOINT);
    var batches = batches();
    // publish = own + ingest × x, x = max(1, (1 + sampling actors) ÷ cores)
    var xs = new ArrayList<Double>();
    var ys = new ArrayList<Double>();
    for (var e : publishTimes(warmup).entrySet()) {
      long from = checkpointed.get(e.getKey()), to = published.get(e.getKey());
      double sampling = sampling(batches, from, to, null);
      xs.add(Math.max(1, (1 + sampling) / cores));
      ys.add(e.getValue());
    }
    double own = 0, ingest = mean(ys);
    double[] line = leastSquares(xs, ys);
    if (line != null && line[0] >= 0 && line[1] >= 0) {
      own = line[0];
      ingest = line[1];
    } else if (line != null && line[0] < 0) {
      ingest = 0;
      for (int i = 0; i < xs.size(); i++) ingest += ys.get(i) / xs.get(i);
      ingest /= xs.size();
    } else if (line != null) {
      own = ingest;
      ingest = 0;
    }
    // a copy: an actor idle from "published" to "applied", the other actors' copies and samplers
    // sharing the core meanwhile
    int actors = (int) rollouts.stream().map(RolloutTimes::actorId).distinct().count();
    var copies = new ArrayList<Double>();
    for (var a : applied()) {
      Long pub = published.get(a.version());
      if (a.version() <= warmup || pub == null || a.millis() <= pub) continue;
      boolean busy =
          batches.stream()
              .anyMatch(
                  b -> b.actor().equals(a.actor()) && b.start() < a.millis() && b.end() > pub);
      if (busy) continue; // its load waited for its batch to end
      double others = sampling(batches, pub, a.millis(), a.actor());
      double share = Math.max(1, (actors + others) / cores);
      copies.add(Math.max(0, (a.millis() - pub) / 1000.0 - ACTOR_LOAD_S) / share);
    }
    return new BrokerCosts(own, ingest, mean(copies));
  }

  /**
   * The actors' time against their rows: {overhead s, rollouts/s of one actor alone on the cores},
   * from the batches that start after version {@code warmup}'s publish, less the broker's CPU
   * within them. With one actor, a least-squares fit of batch CPU against rows ({@link #fit}; a
   * pure rate when the batches are all one size or the fit's overhead is negative). With several
   * sharing cores, their rows ÷ the CPU they had while at least one of them was sampling: what one
   * actor alone would do, if sharing costs nothing.
   */
  double[] batchFit(int actorCores, int warmup, BrokerCosts broker) {
    int cores = Math.max(1, actorCores);
    var batches = steadyBatches(warmup);
    var broad = brokerWindows(broker);
    boolean oneActor = batches.stream().map(Batch::actor).distinct().count() == 1;
    if (oneActor) {
      var times = batchTimes(actorCores, warmup, broker);
      var fit = fit(times);
      if (fit.usable()) return new double[] {fit.overheadS(), fit.rolloutsPerS()};
      return new double[] {0, fit.pureRolloutsPerS()};
    }
    double rows = batches.stream().mapToDouble(Batch::rows).sum();
    // the union of the batches' intervals, less the broker's CPU within it
    double busy = 0, stolen = 0;
    long start = -1, end = -1;
    for (var b : batches) {
      if (b.start() > end) {
        if (end > start) {
          busy += (end - start) / 1000.0;
          stolen += Math.min(0.9 * (end - start) / 1000.0, cpuWithin(broad, start, end) / cores);
        }
        start = b.start();
        end = b.end();
      } else {
        end = Math.max(end, b.end());
      }
    }
    if (end > start) {
      busy += (end - start) / 1000.0;
      stolen += Math.min(0.9 * (end - start) / 1000.0, cpuWithin(broad, start, end) / cores);
    }
    return new double[] {0, rows / (busy - stolen)};
  }

  /** The batches that start after version {@code warmup}'s publish (all, when fewer than 3 do). */
  private List<Batch> steadyBatches(int warmup) {
    Long since = learnerLines(PUBLISHED).get((long) warmup);
    var all = batches();
    var batches = all.stream().filter(b -> since == null || b.start() >= since).toList();
    return batches.size() < 3 ? all : batches;
  }

  /** One actor batch: its rows and the CPU it had, seconds. */
  record BatchTime(int rows, double seconds) {}

  /**
   * The batches after version {@code warmup}'s publish, each as its time less the broker's CPU
   * within it (the broker's work spread evenly over its windows, see the class comment, shared by
   * {@code actorCores}; at most 90% of the batch): with one actor, the CPU its batches had. {@code
   * broker} is the broker's costs to take out, which need not be this run's own reading: the
   * single-actor runs the actor's costs are read from are corrected with the same ones.
   */
  List<BatchTime> batchTimes(int actorCores, int warmup, BrokerCosts broker) {
    int cores = Math.max(1, actorCores);
    var broad = brokerWindows(broker);
    var times = new ArrayList<BatchTime>();
    for (var b : steadyBatches(warmup)) {
      double seconds = (b.end() - b.start()) / 1000.0;
      double stolen = Math.min(0.9 * seconds, cpuWithin(broad, b.start(), b.end()) / cores);
      times.add(new BatchTime(b.rows(), seconds - stolen));
    }
    return times;
  }

  /**
   * A least-squares line through batch times: seconds = overhead + rows ÷ rate.
   *
   * @param overheadS the line's intercept, NaN when the rows do not vary (or fewer than 3 batches);
   *     may be negative
   * @param rolloutsPerS 1 ÷ the line's slope, NaN with the intercept; may be negative
   * @param pureRolloutsPerS all rows ÷ all seconds: the rate without an overhead
   * @param byRows per batch size, {batches, mean seconds}
   */
  record Fit(
      double overheadS,
      double rolloutsPerS,
      double pureRolloutsPerS,
      SortedMap<Integer, double[]> byRows) {
    /** Whether the line's overhead and rate are both measured and usable (≥ 0, > 0). */
    boolean usable() {
      return overheadS >= 0 && rolloutsPerS > 0 && Double.isFinite(rolloutsPerS);
    }
  }

  /**
   * One actor's costs from runs with one actor each and different batch sizes: the line through all
   * their batches after version {@code warmup} ({@link #batchTimes}), every run corrected with the
   * same broker costs.
   */
  static Fit actorFit(List<MeasuredRun> runs, int actorCores, int warmup, BrokerCosts broker) {
    var times = new ArrayList<BatchTime>();
    for (var run : runs) times.addAll(run.batchTimes(actorCores, warmup, broker));
    return fit(times);
  }

  static Fit fit(List<BatchTime> times) {
    double n = times.size(), sx = 0, sy = 0, sxx = 0, sxy = 0;
    var byRows = new TreeMap<Integer, double[]>();
    for (var t : times) {
      sx += t.rows();
      sy += t.seconds();
      sxx += (double) t.rows() * t.rows();
      sxy += t.rows() * t.seconds();
      byRows.merge(
          t.rows(),
          new double[] {1, t.seconds()},
          (a, b) -> new double[] {a[0] + b[0], a[1] + b[1]});
    }
    for (var v : byRows.values()) v[1] /= v[0];
    double denominator = n * sxx - sx * sx;
    double overhead = Double.NaN, rate = Double.NaN;
    if (n >= 3 && denominator > 1e-9) {
      double slope = (n * sxy - sx * sy) / denominator;
      overhead = (sy - slope * sx) / n;
      rate = 1 / slope;
    }
    return new Fit(overhead, rate, sx / sy, byRows);
  }

  /** A span of the broker's work, {@code cpuS} CPU-seconds spread evenly over it. */
  private record Window(long from, long to, double cpuS) {}

  /**
   * The broker's work as the stamps place it: each version's ingest from the end of the learner's
   * own part to "published", each actor's copy from "published" to its load.
   */
  private List<Window> brokerWindows(BrokerCosts broker) {
    var published = learnerLines(PUBLISHED);
    var checkpointed = learnerLines(CHECKPOINT);
    var windows = new ArrayList<Window>();
    for (var e : published.entrySet()) {
      Long ckpt = checkpointed.get(e.getKey());
      if (ckpt == null || broker.ingestS() <= 0) continue;
      long from = Math.min(e.getValue(), ckpt + Math.round(1000 * broker.learnerPublishS()));
      windows.add(new Window(from, e.getValue(), broker.ingestS()));
    }
    if (broker.serveS() > 0) {
      for (var a : applied()) {
        Long pub = published.get(a.version());
        long to = a.millis() - Math.round(1000 * ACTOR_LOAD_S);
        if (pub != null && to > pub) windows.add(new Window(pub, to, broker.serveS()));
      }
    }
    return windows;
  }

  /** The broker's CPU-seconds within [from, to]. */
  private static double cpuWithin(List<Window> windows, long from, long to) {
    double cpu = 0;
    for (var w : windows) {
      long overlap = Math.min(to, w.to()) - Math.max(from, w.from());
      if (overlap > 0) cpu += w.cpuS() * overlap / (double) Math.max(1, w.to() - w.from());
    }
    return cpu;
  }

  /** The mean number of actors (other than {@code except}) sampling within [from, to]. */
  private static double sampling(List<Batch> batches, long from, long to, String except) {
    if (to <= from) return 0;
    double sum = 0;
    for (var b : batches) {
      if (b.actor().equals(except)) continue;
      sum += Math.max(0, Math.min(to, b.end()) - Math.max(from, b.start()));
    }
    return sum / (to - from);
  }

  /** {intercept, slope} of y against x; null when x does not vary. */
  private static double[] leastSquares(List<Double> xs, List<Double> ys) {
    int n = xs.size();
    if (n < 3) return null;
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    for (int i = 0; i < n; i++) {
      sx += xs.get(i);
      sy += ys.get(i);
      sxx += xs.get(i) * xs.get(i);
      sxy += xs.get(i) * ys.get(i);
    }
    double varX = sxx / n - (sx / n) * (sx / n);
    if (varX < 0.01) return null; // k̄ never varied by more than ~0.1 actor
    double slope = (sxy / n - (sx / n) * (sy / n)) / varX;
    return new double[] {sy / n - slope * sx / n, slope};
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
