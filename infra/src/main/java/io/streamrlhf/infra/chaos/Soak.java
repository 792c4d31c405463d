package io.streamrlhf.infra.chaos;

import io.streamrlhf.learner.config.PpoConfig;
import io.streamrlhf.model.checkpoint.Checkpoint;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The tiny loop (one actor, max_lag 1) run for the soak's duration (30 minutes by default), the
 * resident set of the broker, the actor and the learner sampled from /proc/PID/status every
 * sampling period. Fails when a process's RSS grows faster than the bound (least-squares slope
 * after the warm-up), or the run applied a rollout twice or lost a prompt of a completed batch.
 */
final class Soak extends LoopScenario {
  private final Map<String, List<RssSlope.Sample>> samples = new LinkedHashMap<>();

  @Override
  public String name() {
    return "soak";
  }

  @Override
  public String description() {
    return "run the tiny loop for --soak (30 min), sampling every process's RSS every --sample-every"
        + " (10 s): RSS slope under the bound, no rollout applied twice";
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
    for (long next = start; next < end; next += settings.sampleEvery().toNanos()) {
      processes.idle(java.time.Duration.ofNanos(Math.max(0, next - System.nanoTime())));
      double at = (System.nanoTime() - start) / 1e9;
      sample("broker", processes.broker(), at);
      for (var p : processes.processes()) sample(p.source().replaceAll("#\\d+$", ""), p, at);
    }
    run.figures().fault("soak " + settings.soak().toMinutes() + " min");
    // a SIGTERM ends the learner between updates or mid-update; its last checkpoint stands
    processes.stop(LoopRun.LEARNER);
  }

  private void sample(String name, ChildJvm p, double at) {
    long kb = p.rssKb();
    if (kb > 0)
      samples.computeIfAbsent(name, k -> new ArrayList<>()).add(new RssSlope.Sample(at, kb));
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
      var kept = RssSlope.afterWarmUp(all);
      double slope = RssSlope.mbPerHour(kept);
      if (Double.isNaN(slope)) continue;
      steepest = Math.max(steepest, slope);
      run.figures()
          .note(
              String.format(
                  "%s: RSS %.0f MB -> %.0f MB, slope %+.1f MB/h over %d samples after the warm-up (%+.1f MB/h over all %d)",
                  e.getKey(),
                  all.get(0).rssKb() / 1000.0,
                  all.get(all.size() - 1).rssKb() / 1000.0,
                  slope,
                  kept.size(),
                  RssSlope.mbPerHour(all),
                  all.size()));
      run.figures()
          .check(
              slope <= bound,
              String.format(
                  "%s's RSS grew %+.1f MB/h (bound %.0f MB/h)", e.getKey(), slope, bound));
    }
    if (steepest > Double.NEGATIVE_INFINITY) run.figures().rssSlope(steepest);
  }
}
