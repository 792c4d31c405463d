package io.streamrlhf.infra.cli;

import static io.streamrlhf.infra.cli.CliRun.run;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.djl.engine.Engine;
import io.streamrlhf.infra.chaos.TinyModels;
import io.streamrlhf.model.GptConfig;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
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
        .contains("--sft=DIR", "--rm=DIR", "gold-proxy.csv", "--out=DIR", "--resume")
        .contains("--reward=SOURCE", "oracle", "live", "--rm-out=DIR", "--label-share")
        .contains("--reward-set=KEY=VALUE");
  }

  @Test
  void liveRewardWithoutItsOptionsIsOneLineBeforeAnythingIsPrintedOrWritten(@TempDir Path dir)
      throws IOException {
    TinyModels.write(dir); // dir/sft and dir/rm
    java.nio.file.Files.writeString(dir.resolve("afile"), "not a directory");
    var out = dir.resolve("ppo").toString();
    var sft = dir.resolve("sft").toString();
    var cases =
        Map.of(
            "--token must not be blank",
            new String[] {"--rm-out", dir.resolve("fresh").toString(), "--token", " "},
            "--reward live needs --rm-out DIR for the reward trainer",
            new String[] {},
            dir.resolve("rm") + " already holds a checkpoint: choose another --rm-out",
            new String[] {"--rm-out", dir.resolve("rm").toString()},
            "--label-share must be in (0, 1], got 0.0",
            new String[] {"--rm-out", dir.resolve("fresh").toString(), "--label-share", "0"},
            "--rm-out " + out + " and --out " + out + " must not hold one another",
            new String[] {"--rm-out", out},
            "--rm-out " + out + "/rm and --out " + out + " must not hold one another",
            new String[] {"--rm-out", out + "/rm"},
            "catch_up_factor must be >= 1, got 0",
            new String[] {
              "--rm-out", dir.resolve("fresh").toString(), "--reward-set", "catch_up_factor=0"
            },
            "--rm-out " + dir.resolve("afile") + " is a file: give a directory",
            new String[] {"--rm-out", dir.resolve("afile").toString()},
            "--reward-set expects key=value, got 'catch_up_factor'",
            new String[] {
              "--rm-out", dir.resolve("fresh").toString(), "--reward-set", "catch_up_factor"
            });
    for (var c : cases.entrySet()) {
      var args = new ArrayList<>(List.of("ppo", "--sft", sft, "--reward", "live", "--out", out));
      args.addAll(List.of(c.getValue()));

      var run = run(args.toArray(String[]::new));

      assertThat(run.exitCode()).as(c.getKey()).isEqualTo(2);
      assertThat(run.err().strip()).isEqualTo("rlhf ppo: " + c.getKey());
      assertThat(run.out()).as("the config is not printed").doesNotContain("\"reward\"");
    }
    assertThat(dir.resolve("ppo")).as("--out is left alone").doesNotExist();
  }

  @Test
  void aGpuThisMachineLacksIsOneLineFromEveryCommandThatRunsModelsBeforeAnythingIsWritten(
      @TempDir Path dir) throws IOException {
    assumeTrue(Engine.getEngine("PyTorch").getGpuCount() == 0, "a GPU is present");
    TinyModels.write(dir);
    var sft = dir.resolve("sft").toString();
    var rm = dir.resolve("rm").toString();
    var commands =
        List.of(
            List.of("pretrain", "--out", dir.resolve("o1").toString()),
            List.of("sft", "--base", sft, "--out", dir.resolve("o2").toString()),
            List.of("reward", "--sft", sft, "--out", dir.resolve("o3").toString()),
            List.of("ppo", "--sft", sft, "--rm", rm, "--out", dir.resolve("o4").toString()),
            List.of(
                "ppo", "--inproc", "--sft", sft, "--rm", rm, "--out", dir.resolve("o5").toString()),
            List.of(
                "learner",
                "--bootstrap",
                "127.0.0.1:1",
                "--sft",
                sft,
                "--rm",
                rm,
                "--out",
                dir.resolve("o6").toString()),
            List.of(
                "reward-trainer",
                "--bootstrap",
                "127.0.0.1:1",
                "--sft",
                sft,
                "--out",
                dir.resolve("o7").toString()),
            List.of("actor", "--bootstrap", "127.0.0.1:1", "--sft", sft, "--rm", rm));
    for (var command : commands) {
      var args = new ArrayList<>(command);
      args.addAll(List.of("--device", "gpu"));

      var run = run(args.toArray(String[]::new));

      assertThat(run.exitCode()).as(command.get(0)).isEqualTo(2);
      assertThat(run.err().strip())
          .isEqualTo(
              "rlhf "
                  + command.get(0)
                  + ": device gpu: PyTorch sees no GPU on this machine (build with -Pcuda on a CUDA"
                  + " host), use --device cpu");
    }
    for (int i = 1; i <= 7; i++) assertThat(dir.resolve("o" + i)).doesNotExist();
  }

  @Test
  void withALiveRewardRmIsTheTrainersStartOrRefusedNeverIgnored(@TempDir Path dir)
      throws IOException {
    TinyModels.write(dir);
    var sft = dir.resolve("sft").toString();
    // where the reward trainer runs elsewhere, an --rm would be read by no one
    var learner =
        run(
            "learner",
            "--sft",
            sft,
            "--rm",
            dir.resolve("rm").toString(),
            "--reward",
            "live",
            "--bootstrap",
            "127.0.0.1:1",
            "--out",
            dir.resolve("l").toString());
    assertThat(learner.exitCode()).isEqualTo(2);
    assertThat(learner.err().strip())
        .isEqualTo(
            "rlhf learner: --rm is not read with --reward live here: actors score with the versions"
                + " the reward trainer publishes (start the trainer from it: rlhf reward-trainer"
                + " --rm)");
    // where it runs here, it starts from --rm, which must hold a reward model
    var notReward = liveHere(sft, sft, dir);
    assertThat(notReward.exitCode()).isEqualTo(2);
    assertThat(notReward.err().strip())
        .isEqualTo(
            "rlhf ppo: --rm "
                + sft
                + " holds a sft checkpoint: give a directory written by rlhf reward or rlhf"
                + " reward-trainer");
    // a reward model of another vocabulary than the SFT model it would score
    var other = TinyModels.write(dir.resolve("other"), new GptConfig(300, 256, 16, 1, 2));
    var otherVocabulary = liveHere(sft, other.resolve("rm").toString(), dir);
    assertThat(otherVocabulary.exitCode()).isEqualTo(2);
    assertThat(otherVocabulary.err().strip())
        .isEqualTo(
            "rlhf ppo: --rm "
                + other.resolve("rm")
                + " and --sft "
                + sft
                + " differ in vocabulary");
    // in memory there is no trainer and no Kafka: said before the config is printed
    var inMemory =
        run(
            "ppo",
            "--inproc",
            "--sft",
            sft,
            "--reward",
            "live",
            "--out",
            dir.resolve("p").toString());
    assertThat(inMemory.exitCode()).isEqualTo(2);
    assertThat(inMemory.err().strip())
        .isEqualTo(
            "rlhf ppo: --reward live scores with the versions a reward trainer publishes on Kafka:"
                + " run ppo through Kafka (without --inproc)");
    assertThat(inMemory.out()).doesNotContain("\"reward\"");
    assertThat(dir.resolve("p")).doesNotExist();
  }

  /** {@code rlhf ppo --reward live} in one process, its reward trainer starting from {@code rm}. */
  private static CliRun liveHere(String sft, String rm, Path dir) {
    return run(
        "ppo",
        "--sft",
        sft,
        "--rm",
        rm,
        "--reward",
        "live",
        "--rm-out",
        dir.resolve("r").toString(),
        "--out",
        dir.resolve("p").toString());
  }

  @Test
  void aPpoRunThatDivergesStopsInOneLineRatherThanCheckpointABrokenPolicy(@TempDir Path dir)
      throws IOException {
    TinyModels.write(dir); // dir/sft and dir/rm
    var out = dir.resolve("ppo");
    var run =
        run(
            "ppo",
            "--inproc",
            "--sft",
            dir.resolve("sft").toString(),
            "--rm",
            dir.resolve("rm").toString(),
            "--out",
            out.toString(),
            "--set",
            "updates=40",
            "--set",
            "value_warmup_updates=0",
            "--set",
            "learning_rate=1000");
    assertThat(run.exitCode()).as(run.err()).isEqualTo(2);
    assertThat(run.err().strip())
        .matches(
            "rlhf ppo: the run diverged \\(gradient not finite in 3 updates in a row, (\\d+) to"
                + " \\d+\\): lower learning_rate, value_head_learning_rate or init_kl_coef"
                + " \\(--set KEY=\\.\\.\\.\\) and run again");
    assertThat(run.out()).doesNotContain("done at policy v40");
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
