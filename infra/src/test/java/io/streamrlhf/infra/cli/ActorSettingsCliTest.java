package io.streamrlhf.infra.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
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
    var run =
        actorWith(
            dir,
            "learning_rate=1e-3",
            "responses-per-prompt=4",
            "max_lag=2",
            "learning-rate=2e-3",
            "sampling_temperature=0.7");

    assertThat(run.out().lines().filter(l -> l.startsWith("actor: --set")))
        .containsExactly(
            "actor: --set learning_rate, max_lag: the learner's, not used here (an actor reads"
                + " only prompt_partitions, prompts_per_batch, responses_per_prompt, reward,"
                + " sampling_temperature)");
  }

  @Test
  void anActorGivenOnlyItsOwnSettingsSaysNothingOfThem(@TempDir Path dir) throws IOException {
    var run = actorWith(dir, "prompts_per_batch=8", "prompt_partitions=2");

    assertThat(run.out()).doesNotContain("--set");
  }

  /** An actor with these --set values, ended by the address nobody answers at. */
  private static CliRun actorWith(Path dir, String... sets) throws IOException {
    var args = new ArrayList<>(List.of("actor", "--bootstrap", "127.0.0.1:1"));
    args.addAll(
        List.of("--sft", ClearErrorsCliTest.checkpoint(dir.resolve("sft"), "sft").toString()));
    args.addAll(
        List.of("--rm", ClearErrorsCliTest.checkpoint(dir.resolve("rm"), "reward").toString()));
    for (var set : sets) args.addAll(List.of("--set", set));
    var run = CliRun.run(args.toArray(String[]::new));
    assertThat(run.exitCode()).as(run.err()).isEqualTo(2); // nobody at the address
    return run;
  }
}
