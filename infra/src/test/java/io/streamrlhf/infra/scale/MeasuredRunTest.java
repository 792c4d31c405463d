package io.streamrlhf.infra.scale;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The broker's costs read back from stamps made with known ones: one actor alone on its core, its
 * 16-row batches 0.2 s of CPU (80 rollouts/s); the learner's own part of a publish 20 ms, the
 * broker's ingest 60 ms and a copy 50 ms of CPU; the load 4 ms. Even versions find the actor idle
 * (publish 20 + 60 ms), odd ones find it sampling through the ingest, which then takes twice as
 * long (publish 20 + 120 ms) and makes the batch 60 ms longer.
 */
class MeasuredRunTest {
  private static final int VERSIONS = 12;

  private static MeasuredRun run() {
    return run(8, 0, 80);
  }

  /**
   * Such a run whose actor samples {@code prompts} of each version's 8 prompts at once (K 2), a
   * batch of r rows taking {@code overheadS} + r ÷ {@code rate} of CPU: after an even version's
   * copy and load, its batches back to back; before an odd version's publish, the last of them
   * sampling through the ingest.
   */
  private static MeasuredRun run(int prompts, double overheadS, double rate) {
    long cpu = Math.round(1000 * (overheadS + 2 * prompts / rate)); // one batch, ms
    int batches = 8 / prompts;
    var lines = new ArrayList<PinnedLoop.Line>();
    var rollouts = new ArrayList<MeasuredRun.RolloutTimes>();
    for (int v = 0; v <= VERSIONS; v++) {
      long t = 10_000 + 1000L * v;
      if (v > 0) lines.add(learner(t - 100, "update " + v + "/" + VERSIONS + "  rm 0.1"));
      lines.add(learner(t, "checkpoint v" + v + " written"));
      long published, firstStart;
      if (v % 2 == 0) {
        published = t + 20 + 60;
        firstStart = published + 50 + 4; // the copy, alone, then the load
        lines.add(new PinnedLoop.Line("actor-0", firstStart, "actor-0: policy v" + v + " applied"));
      } else {
        published = t + 20 + 2 * 60;
        // the last batch samples through the ingest and ends as it does
        firstStart = published - 60 - batches * cpu;
        lines.add(
            new PinnedLoop.Line("actor-0", published + 54, "actor-0: policy v" + v + " applied"));
      }
      lines.add(learner(published, "published policy v" + v + " (51 chunk(s), 13172196 bytes)"));
      for (int b = 0; b < batches; b++) {
        long start = firstStart + b * cpu;
        long end = start + cpu + (v % 2 == 1 && b == batches - 1 ? 60 : 0);
        for (int p = b * prompts; p < (b + 1) * prompts; p++)
          for (int k = 0; k < 2; k++)
            rollouts.add(
                new MeasuredRun.RolloutTimes("actor-0", "r:" + v + ":" + p, v, start, end));
      }
    }
    lines.sort((a, b) -> Long.compare(a.millis(), b.millis()));
    return new MeasuredRun(null, lines, rollouts, List.of());
  }

  private static PinnedLoop.Line learner(long millis, String text) {
    return new PinnedLoop.Line("learner", millis, "learner: " + text);
  }

  @Test
  void theBrokersCostsAndTheActorsOwnRateComeBack() {
    var costs = run().costs(8, 2, 1, 2);
    assertThat(costs.publishS()).isCloseTo(0.020, within(1e-9));
    assertThat(costs.brokerIngestS()).isCloseTo(0.060, within(1e-9));
    assertThat(costs.brokerServeS()).isCloseTo(0.050, within(1e-9));
    // the batches sampled through an ingest had the broker take 60 ms of them
    assertThat(costs.actorRolloutsPerS()).isCloseTo(80, within(1e-6));
    assertThat(costs.actorBatchOverheadS()).isZero();
    assertThat(costs.brokerModeled()).isTrue();
  }

  @Test
  void twoBatchSizesGiveTheActorsOverheadAndRate() {
    // 50 ms a batch + 100 rollouts/s: 16 rows 210 ms, 4 rows 90 ms of CPU
    var sixteen = run(8, 0.05, 100);
    var four = run(2, 0.05, 100);
    var broker = sixteen.brokerCosts(1, 2);
    assertThat(four.brokerCosts(1, 2)).isEqualTo(broker);

    var fit = MeasuredRun.actorFit(List.of(sixteen, four), 1, 2, broker);
    assertThat(fit.usable()).isTrue();
    assertThat(fit.overheadS()).isCloseTo(0.05, within(1e-9));
    assertThat(fit.rolloutsPerS()).isCloseTo(100, within(1e-6));
    assertThat(fit.byRows()).containsOnlyKeys(4, 16);
    assertThat(fit.byRows().get(16)[1]).isCloseTo(0.210, within(1e-9));
    assertThat(fit.byRows().get(4)[1]).isCloseTo(0.090, within(1e-9));
    // each run alone shows one batch size: no line, its own rate with the overhead in it
    var alone = MeasuredRun.actorFit(List.of(sixteen), 1, 2, broker);
    assertThat(alone.usable()).isFalse();
    assertThat(alone.pureRolloutsPerS()).isCloseTo(16 / 0.210, within(1e-6));
    assertThat(sixteen.costs(8, 2, 1, 2).actorBatchOverheadS()).isZero();
    // leaving the broker's CPU in (60 ms every other version in both runs, as one learner batch
    // of 16 rows each) slows the rate but leaves the overhead alone: the same broker work per row
    var free = new MeasuredRun.BrokerCosts(broker.learnerPublishS(), 0, 0);
    var uncorrected = MeasuredRun.actorFit(List.of(sixteen, four), 1, 2, free);
    assertThat(uncorrected.overheadS()).isCloseTo(0.05, within(1e-9));
    // versions 2..12 after the warmup, 5 of them odd: 60 ms × 5/11 more per 16 rows
    assertThat(uncorrected.rolloutsPerS()).isCloseTo(16 / (0.160 + 0.060 * 5 / 11), within(1e-6));
  }

  @Test
  void withoutAnOverheadTheTwoRunsGiveTheOldRate() {
    var fit = MeasuredRun.actorFit(List.of(run(), run(2, 0, 80)), 1, 2, run().brokerCosts(1, 2));
    assertThat(fit.overheadS()).isCloseTo(0, within(1e-9));
    assertThat(fit.rolloutsPerS()).isCloseTo(80, within(1e-6));
    assertThat(fit.rolloutsPerS())
        .isCloseTo(run().costs(8, 2, 1, 2).actorRolloutsPerS(), within(1e-6));
  }

  @Test
  void withoutCpuSamplesThereIsNoCpuPerVersion() {
    assertThat(run().cpuPerVersion("broker", 2)).isEmpty();
  }

  @Test
  void theCpuPerVersionIsInterpolatedBetweenSamples() {
    var base = run();
    // the broker at 0.3 CPU-s a second, sampled every 400 ms; versions 1 s apart
    var samples = new ArrayList<CpuSampler.Sample>();
    for (long ms = 9_000; ms <= 24_000; ms += 400)
      samples.add(new CpuSampler.Sample("broker", ms, 0.3 * (ms - 9_000) / 1000.0));
    var run = new MeasuredRun(null, base.lines(), base.rollouts(), samples);
    // from v2's publish to v12's: 10 versions, 10 s plus the odd/even difference of the publish
    double seconds = ((10_000 + 12_000 + 80) - (10_000 + 2_000 + 80)) / 1000.0;
    assertThat(run.cpuPerVersion("broker", 2)).hasValueCloseTo(0.3 * seconds / 10, within(1e-9));
    assertThat(run.cpuPerVersion("actor", 2)).isEmpty();
  }
}
