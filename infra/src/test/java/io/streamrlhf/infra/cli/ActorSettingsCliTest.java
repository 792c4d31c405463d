package io.streamrlhf.infra.cli;

import static io.streamrlhf.infra.cli.CliRun.run;
import static org.assertj.core.api.Assertions.assertThat;

import io.streamrlhf.learner.train.TrainState;
import io.streamrlhf.model.checkpoint.Checkpoint;
import io.streamrlhf.model.checkpoint.Json;
import io.streamrlhf.tasks.SplitMix64;
import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** An actor given the learner's settings says which of them it does not use. */
class ActorSettingsCliTest {
  @BeforeEach
  void shortWait() {
    System.setProperty(BrokerCheck.WAIT_PROPERTY, "PT1S"); // no broker: the run ends there
  }

  @AfterEach
  void defaultWait() {
    System.clearProperty(BrokerCheck.WAIT_PROPERTY);
  }

  @Test
  void settingsOnlyTheLearnerReadsAreNamedOnceAndTheActorsOwnAreNot(@TempDir Path dir)
      throws IOException {
    var sft = checkpoint(dir.resolve("sft"), "sft").toString();
    var rm = checkpoint(dir.resolve("rm"), "reward").toString();

    var run =
        run(
            "actor",
            "--sft",
            sft,
            "--rm",
            rm,
            "--bootstrap",
            "127.0.0.1:1",
            "--set",
            "learning_rate=1e-3",
            "--set",
            "responses-per-prompt=4",
            "--set",
            "max_lag=2",
            "--set",
            "learning-rate=2e-3",
            "--set",
            "sampling_temperature=0.7");

    assertThat(run.exitCode()).as(run.err()).isEqualTo(2); // nobody at the address
    assertThat(run.out().lines().filter(l -> l.startsWith("actor: --set")))
        .containsExactly(
            "actor: --set learning_rate, max_lag: the learner's, not used here (an actor reads"
                + " only prompt_partitions, prompts_per_batch, responses_per_prompt, reward,"
                + " sampling_temperature)");
  }

  @Test
  void anActorGivenOnlyItsOwnSettingsSaysNothingOfThem(@TempDir Path dir) throws IOException {
    var sft = checkpoint(dir.resolve("sft"), "sft").toString();
    var rm = checkpoint(dir.resolve("rm"), "reward").toString();

    var run =
        run(
            "actor",
            "--sft",
            sft,
            "--rm",
            rm,
            "--bootstrap",
            "127.0.0.1:1",
            "--set",
            "prompts_per_batch=8",
            "--set",
            "prompt_partitions=2");

    assertThat(run.exitCode()).as(run.err()).isEqualTo(2);
    assertThat(run.out()).doesNotContain("--set");
  }

  private static Path checkpoint(Path dir, String stage) throws IOException {
    new TrainState(stage, 1, 0, new SplitMix64(1).state(), 0, null)
        .write(dir.resolve("step-000001"));
    Json.writeAtomically(new Checkpoint.Latest(1, "step-000001"), dir.resolve(Checkpoint.LATEST));
    return dir;
  }
}
