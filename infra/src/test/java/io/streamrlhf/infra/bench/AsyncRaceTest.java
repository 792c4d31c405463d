package io.streamrlhf.infra.bench;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamrlhf.infra.affinity.CpuSet;
import io.streamrlhf.infra.chaos.TinyModels;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The sync-vs-async race on tiny models: both modes run and report sane figures. */
class AsyncRaceTest {
  @TempDir Path dir;

  @Test
  void bothModesReportIdleFractionsLagAndTheirCurve() throws Exception {
    var models = TinyModels.write(dir.resolve("models"));
    var allowed = CpuSet.allowed();
    // one CPU each where there are two; unpinned on a one-CPU machine (the race still runs)
    String actorCpus = null;
    String learnerCpus = null;
    if (allowed.size() > 1) {
      var cpus = allowed.cpus();
      int first = cpus.nextSetBit(0);
      actorCpus = Integer.toString(first);
      learnerCpus = Integer.toString(cpus.nextSetBit(first + 1));
    }
    var result =
        AsyncRace.run(
            new AsyncRace.Settings(
                models.resolve("sft"),
                TinyModels.config(3, 1, 7),
                actorCpus,
                learnerCpus,
                dir.resolve("race"),
                "768m",
                Duration.ofMinutes(3)),
            new PrintWriter(System.out, true));

    assertThat(result.sync().maxLag()).isZero();
    assertThat(result.sync().lagP99()).isZero();
    assertThat(result.async().maxLag()).isEqualTo(1);
    assertThat(result.async().lagP99()).isBetween(0L, 1L);
    for (var mode : new AsyncRace.Mode[] {result.sync(), result.async()}) {
      assertThat(mode.rolloutsApplied())
          .isEqualTo(3L * TinyModels.PROMPTS_PER_BATCH * TinyModels.RESPONSES_PER_PROMPT);
      assertThat(mode.wallSeconds()).isPositive();
      assertThat(mode.learnerIdleFraction()).isBetween(0.0, 1.0);
      assertThat(mode.actorIdleFraction()).isBetween(0.0, 1.0);
      assertThat(mode.goldProxyCsv()).endsWith("gold-proxy.csv").startsWith(mode.learnerOut());
    }
    assertThat(result.actorCpus()).isEqualTo(actorCpus);
    assertThat(result.wallSyncOverAsync())
        .isEqualTo(result.sync().wallSeconds() / result.async().wallSeconds());
    // both learners evaluated at v0 and after the last update: the comparison is made, from the
    // same starting policy (a target neither tiny random run reaches gives nulls, never NaN)
    var gold = result.timeToReward();
    assertThat(gold).isNotNull();
    assertThat(gold.targetOracleScore()).isFinite();
    assertThat(gold.described()).contains("sync").contains("async");
    if (gold.syncOverAsync() != null) {
      assertThat(gold.syncOverAsync()).isEqualTo(gold.syncSeconds() / gold.asyncSeconds());
    }
  }
}
