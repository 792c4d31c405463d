package io.streamrlhf.infra.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BenchFiguresTest {

  @Test
  void figureIsTheMedianWithItsSpread() {
    var odd = ModelBench.Figure.of(new double[] {5, 1, 3});
    assertThat(odd.median()).isEqualTo(3);
    assertThat(odd.min()).isEqualTo(1);
    assertThat(odd.max()).isEqualTo(5);
    assertThat(odd.runs()).isEqualTo(3);
    // even count: the mean of the two middle runs
    assertThat(ModelBench.Figure.of(new double[] {4, 1, 2, 10}).median()).isEqualTo(3);
  }

  @Test
  void ratiosAreMediansOverRoundsFasterAboveOne() {
    var ratios = new PeerRatios();
    // Round 1: we generate twice as fast and step in half the time; round 3 is a loaded outlier.
    ratios.addRound(
        Map.of("gen_kv_tokens_per_s", 200.0, "ppo_step_ms", 100.0),
        Map.of("gen_kv_tokens_per_s", 100.0, "ppo_step_ms", 200.0));
    ratios.addRound(
        Map.of("gen_kv_tokens_per_s", 300.0, "ppo_step_ms", 100.0),
        Map.of("gen_kv_tokens_per_s", 100.0, "ppo_step_ms", 300.0));
    ratios.addRound(
        Map.of("gen_kv_tokens_per_s", 10.0, "ppo_step_ms", 1000.0),
        Map.of("gen_kv_tokens_per_s", 100.0, "ppo_step_ms", 100.0));
    var result = ratios.ratios();
    assertThat(result.get("gen_kv_tokens_per_s").median()).isEqualTo(2.0);
    assertThat(result.get("gen_kv_tokens_per_s").min()).isEqualTo(0.1);
    assertThat(result.get("ppo_step_ms").median()).isEqualTo(2.0);
    assertThat(result.get("ppo_step_ms").max()).isEqualTo(3.0);
    assertThat(result.get("ppo_step_ms").runs()).isEqualTo(3);
    assertThat(result).doesNotContainKey("gemm_gflops"); // on neither side: no ratio
  }

  @Test
  void raceKeysAreAsyncOverSyncAsTheContractNamesThem() {
    // async took 40 s of wall time where sync took 50, and reached the gold target in 12 s to 20
    var race = race(50, 40, new AsyncRace.GoldRace(1.6, 1.8, 20.0, 12.0, 20.0 / 12.0, "described"));
    assertThat(AsyncRace.asyncOverSyncWall(race)).isEqualTo(0.8);
    assertThat(AsyncRace.asyncOverSyncTimeToReward(race)).isEqualTo(0.6);
    // a run that did not reach the target, or no curve at all: null, never NaN or infinity
    var unreached = race(50, 40, new AsyncRace.GoldRace(1.6, 1.8, 20.0, null, null, "described"));
    assertThat(AsyncRace.asyncOverSyncTimeToReward(unreached)).isNull();
    assertThat(AsyncRace.asyncOverSyncTimeToReward(race(50, 40, null))).isNull();
  }

  private static AsyncRace.Result race(double syncWall, double asyncWall, AsyncRace.GoldRace gold) {
    return new AsyncRace.Result(
        "0", "1", mode(0, syncWall), mode(1, asyncWall), syncWall / asyncWall, gold);
  }

  private static AsyncRace.Mode mode(long maxLag, double wallSeconds) {
    return new AsyncRace.Mode(
        maxLag, 40, wallSeconds, 0.1, 0.4, maxLag, maxLag, 2560, "out", "g.csv");
  }

  @Test
  void missingPeerScriptIsReportedNotThrown(@TempDir Path dir) {
    var outcome = PeerRun.run(dir.resolve("peer.py"), 1, 1);
    assertThat(outcome.figures()).isEmpty();
    assertThat(outcome.note()).contains("peer script not found");
  }
}
