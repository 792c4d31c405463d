package io.streamrlhf.infra.chaos;

import io.streamrlhf.learner.config.PpoConfig;
import io.streamrlhf.model.checkpoint.Checkpoint;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.ToLongFunction;

/**
 * The tiny loop (one actor, max_lag 1) run for the soak's duration (30 minutes by default), the
 * resident set of the broker, the actor and the learner sampled from /proc/PID/status every
 * sampling period. Fails when a process's anonymous resident memory (heap, native allocations:
 * where a leak shows) grows faster than the bound (least-squares slope after the warm-up), or the
 * run applied a rollout twice or lost a prompt of a completed batch. The file-backed part is
 * reported beside it and not bounded: it is mapped files (jars, native libraries, the broker's
 * memory-mapped segment indexes), which the kernel reclaims when memory is short.
 */
final class Soak extends LoopScenario {
  private final Map<String, List<Sampled>> samples = new LinkedHashMap<>();

  /** One sample of one process: seconds since the soak's start, and its resident set. */
  private record Sampled(double seconds, Resident resident) {}

  @Override
  public String name() {
    return "soak";
  }

  @Override
  public String description() {
    return "run the tiny loop for --soak (30 min), sampling every process's RSS every --sample-every"
        + " (10 s): the slope of anonymous resident memory under the bound, no rollout applied twice";
  }

  @Override
  public boolean fast() {
    return false;
  }

  /**
   * The whole heap resident from the start (-Xms = -Xmx, pre-touched): otherwise the JVM's lazily
   * grown heap looks like a leak for minutes; what still grows is native memory (tensors, buffers,
   * threads, code), and a heap leak ends in an OutOfMemoryError, a restart the soak fails on.
   */
  @Override
  List<String> jvmFlags(ChaosSettings settings) {
    return List.of("-Xms" + settings.childHeap(), "-XX:+AlwaysPreTouch");
  }

  @Override
  PpoConfig config(ChaosSettings settings) {
    return TinyModels.config(1_000_000, 1, settings.seed());
  }

  @Override
  int actors() {
    return 1;
  }

  @Override
  void inject(LoopRun run) throws Exception {
    samples.clear();
    var settings = run.chaos().settings();
    var processes = run.processes();
    run.startLearner(Map.of());
    long start = System.nanoTime();
    long end = start + settings.soak().toNanos();
    if (end - start > run.remaining().toNanos())
      throw new ScenarioFailure("--soak is longer than the scenario bound (--bound)");
    // every --sample-every from the start, and once more at the end: the soak lasts --soak
    for (long next = start; ; next = Math.min(end, next + settings.sampleEvery().toNanos())) {
      processes.idle(java.time.Duration.ofNanos(Math.max(0, next - System.nanoTime())));
      double at = (System.nanoTime() - start) / 1e9;
      sample("broker", processes.broker(), at);
      for (var p : processes.processes()) sample(p.source().replaceAll("#\\d+$", ""), p, at);
      if (next >= end) break;
    }
    var soak = settings.soak();
    run.figures()
        .fault(
            "soak "
                + (soak.toMillis() % 60_000 == 0
                    ? soak.toMinutes() + " min"
                    : soak.toMillis() / 1000.0 + " s")); // 40 s is not "0 min"
    // a SIGTERM ends the learner between updates or mid-update; its last checkpoint stands
    processes.stop(LoopRun.LEARNER);
  }

  private void sample(String name, ChildJvm p, double at) {
    var resident = p.resident();
    if (resident != null)
      samples.computeIfAbsent(name, k -> new ArrayList<>()).add(new Sampled(at, resident));
  }

  private static List<RssSlope.Sample> series(List<Sampled> samples, ToLongFunction<Resident> kb) {
    return samples.stream()
        .map(s -> new RssSlope.Sample(s.seconds(), kb.applyAsLong(s.resident())))
        .toList();
  }

  /** A stopped run: the batches the checkpoint's ledger counts as wholly consumed. */
  @Override
  long expectedBatches(LoopRun run) {
    try {
      var ledger = Checkpoint.extras(run.out()).path("source").path("ledger");
      if (ledger.has("complete_below")) return ledger.get("complete_below").asLong();
      // no ledger watermark to read: the batches before the last checkpoint's update, less the lag
      long step =
          Checkpoint.trainState(run.out(), io.streamrlhf.learner.train.TrainState.class).step();
      return Math.max(0, step - 1 - run.config().maxLag());
    } catch (Exception e) {
      return 0;
    }
  }

  @Override
  void conclude(LoopRun run) {
    var bound = run.chaos().settings().maxRssSlopeMbPerHour();
    double steepest = Double.NEGATIVE_INFINITY;
    for (var e : samples.entrySet()) {
      var all = e.getValue();
      double warmUp = RssSlope.warmUpEnd(all.get(all.size() - 1).seconds());
      var kept = all.stream().filter(s -> s.seconds() >= warmUp).toList();
      boolean split = all.stream().allMatch(s -> s.resident().anonKb() >= 0);
      double total = RssSlope.mbPerHour(series(kept, Resident::totalKb));
      double anon = split ? RssSlope.mbPerHour(series(kept, Resident::anonKb)) : total;
      if (Double.isNaN(anon)) continue;
      steepest = Math.max(steepest, anon);
      var first = all.get(0).resident();
      var last = all.get(all.size() - 1).resident();
      run.figures()
          .note(
              String.format(
                  "%s: RSS %.0f MB -> %.0f MB, slope %+.1f MB/h over %d samples after the warm-up (%+.1f MB/h over all %d)%s",
                  e.getKey(),
                  first.totalKb() / 1000.0,
                  last.totalKb() / 1000.0,
                  total,
                  kept.size(),
                  RssSlope.mbPerHour(series(all, Resident::totalKb)),
                  all.size(),
                  split
                      ? String.format(
                          "; anonymous %.0f -> %.0f MB, slope %+.1f MB/h; file-backed %.0f -> %.0f MB, slope %+.1f MB/h",
                          first.anonKb() / 1000.0,
                          last.anonKb() / 1000.0,
                          anon,
                          first.fileKb() / 1000.0,
                          last.fileKb() / 1000.0,
                          RssSlope.mbPerHour(series(kept, Resident::fileKb)))
                      : ""));
      run.figures()
          .check(
              anon <= bound,
              String.format(
                  "%s's %s grew %+.1f MB/h (bound %.0f MB/h)",
                  e.getKey(), split ? "anonymous resident memory" : "RSS", anon, bound));
    }
    if (steepest > Double.NEGATIVE_INFINITY) run.figures().rssSlope(steepest);
    // a soak that measured no slope checked nothing: it must not pass
    run.figures()
        .check(
            steepest > Double.NEGATIVE_INFINITY,
            samples.isEmpty()
                ? "no process's resident memory could be read (/proc/PID/status): nothing measured"
                : "no process had two RSS samples after the warm-up: no slope was measured");
  }
}
