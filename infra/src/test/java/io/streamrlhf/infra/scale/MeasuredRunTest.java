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
    var lines = new ArrayList<PinnedLoop.Line>();
    var rollouts = new ArrayList<MeasuredRun.RolloutTimes>();
    for (int v = 0; v <= VERSIONS; v++) {
      long t = 10_000 + 1000L * v;
      if (v > 0) lines.add(learner(t - 100, "update " + v + "/" + VERSIONS + "  rm 0.1"));
      lines.add(learner(t, "checkpoint v" + v + " written"));
      long published, batchStart, batchEnd;
      if (v % 2 == 0) {
        published = t + 20 + 60;
        batchStart = published + 50 + 4; // the copy, alone, then the load
        batchEnd = batchStart + 200;
        lines.add(new PinnedLoop.Line("actor-0", batchStart, "actor-0: policy v" + v + " applied"));
      } else {
        published = t + 20 + 2 * 60;
        batchStart = published - 200 - 60; // sampling through the ingest, ends as it does
        batchEnd = published;
        lines.add(
            new PinnedLoop.Line("actor-0", published + 54, "actor-0: policy v" + v + " applied"));
      }
      lines.add(learner(published, "published policy v" + v + " (51 chunk(s), 13172196 bytes)"));
      for (int p = 0; p < 8; p++)
        for (int k = 0; k < 2; k++)
          rollouts.add(
              new MeasuredRun.RolloutTimes("actor-0", "r:" + v + ":" + p, v, batchStart, batchEnd));
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
