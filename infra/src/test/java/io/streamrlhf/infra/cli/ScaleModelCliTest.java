package io.streamrlhf.infra.cli;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** {@code rlhf scale-model}: the table from the default costs, and one line for a wrong key. */
class ScaleModelCliTest {
  @Test
  void printsTheTableTheSaturationAndTheWeightPath() {
    var run = CliRun.run("scale-model", "--actors", "1-3", "--set", "updates=150");
    assertThat(run.exitCode()).isZero();
    assertThat(run.out())
        .contains("\"updates\" : 150")
        .contains("learner-bound ceiling")
        .contains("saturation: 2 actor(s)")
        .contains("apply/step for large p");
    // one row per actor count
    assertThat(run.out().lines().filter(l -> l.matches("^\\s+[123]\\s+[123] \\|.*"))).hasSize(3);
  }

  @Test
  void anUnknownCostKeyIsOneLineAndExitCode2() {
    var run = CliRun.run("scale-model", "--set", "actor_speed=3");
    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err().strip())
        .startsWith("rlhf scale-model: --set: unknown cost key 'actor_speed'")
        .doesNotContain("Exception");
    var bad = CliRun.run("scale-model", "--set", "max_lag=-1");
    assertThat(bad.exitCode()).isEqualTo(2);
    assertThat(bad.err()).contains("max_lag must be >= 0");
  }

  @Test
  void aNegativeLearnerSpeedIsRefusedBeforeTheTable() {
    var run = CliRun.run("scale-model", "--actors", "1", "--learner-gflops", "0,-5");

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err().strip())
        .isEqualTo(
            "rlhf scale-model: --learner-gflops: speeds are 0 (the measured one) or more, got -5.0");
    assertThat(run.out()).isEmpty();
  }
}
