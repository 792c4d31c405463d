package io.streamrlhf.infra.cli;

import static io.streamrlhf.infra.cli.CliRun.run;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RlStageCliTest {

  @Test
  void rewardAndPpoHelpNameTheirInputsAndSettings() {
    var reward = run("reward", "--help");
    assertThat(reward.exitCode()).isZero();
    assertThat(reward.out())
        .contains("--sft=DIR", "--set=KEY=VALUE", "C(K,2)", "--out=DIR", "--resume");
    var ppo = run("ppo", "--help");
    assertThat(ppo.exitCode()).isZero();
    assertThat(ppo.out())
        .contains("--sft=DIR", "--rm=DIR", "gold-proxy.csv", "--out=DIR", "--resume");
  }

  @Test
  void misspelledSetKeyIsOneLineWithTheNearestKeyAndExitCodeTwo(@TempDir Path dir) {
    var run =
        run(
            "ppo",
            "--sft",
            dir.toString(),
            "--rm",
            dir.toString(),
            "--out",
            dir.resolve("out").toString(),
            "--set",
            "tokens_per_minibach=512");
    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err().strip())
        .isEqualTo(
            "rlhf ppo: unknown key 'tokens_per_minibach' in --set tokens_per_minibach=512; did you mean "
                + "'tokens_per_minibatch'?");
    var reward =
        run(
            "reward",
            "--sft",
            dir.toString(),
            "--out",
            dir.resolve("rm").toString(),
            "--set",
            "responses_per_prompt=12");
    assertThat(reward.exitCode()).isEqualTo(2);
    assertThat(reward.err())
        .contains("responses_per_prompt must be in [2, 9] (K), got 12")
        .doesNotContain("\tat ");
  }

  @Test
  void resumeWithoutACheckpointIsAUserError(@TempDir Path dir) {
    var run =
        run(
            "ppo",
            "--sft",
            dir.toString(),
            "--rm",
            dir.toString(),
            "--out",
            dir.resolve("out").toString(),
            "--resume");
    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err())
        .contains("--resume", "holds no checkpoint to continue")
        .doesNotContain("\tat ");
  }

  @Test
  void missingCheckpointIsAUserError(@TempDir Path dir) {
    var run =
        run(
            "reward",
            "--sft",
            dir.resolve("nothing").toString(),
            "--out",
            dir.resolve("out").toString(),
            "--set",
            "training_prompts=4",
            "--set",
            "held_out_prompts=2");
    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err()).contains("holds no checkpoint").doesNotContain("\tat ");
  }
}
