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
  void missingPeerScriptIsReportedNotThrown(@TempDir Path dir) {
    var outcome = PeerRun.run(dir.resolve("peer.py"), 1, 1);
    assertThat(outcome.figures()).isEmpty();
    assertThat(outcome.note()).contains("peer script not found");
  }
}
