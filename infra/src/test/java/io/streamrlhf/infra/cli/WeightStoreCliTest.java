package io.streamrlhf.infra.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** --weights-store refusals: one line, exit code 2, before any broker is asked. */
class WeightStoreCliTest {
  @TempDir Path dir;

  @Test
  void aStoreThatIsAFileIsRefusedInOneLine() throws Exception {
    var file = Files.writeString(dir.resolve("store"), "not a directory");
    var run =
        CliRun.run(
            "actor",
            "--weights-store",
            file.toString(),
            "--bootstrap",
            "127.0.0.1:1",
            "--sft",
            "x");
    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err().strip())
        .isEqualTo(
            "rlhf actor: --weights-store " + file + ": " + file + " exists and is not a directory");
  }

  @Test
  void theInMemoryLoopRefusesAStore() {
    var run =
        CliRun.run(
            "ppo",
            "--inproc",
            "--weights-store",
            dir.resolve("store").toString(),
            "--sft",
            "x",
            "--out",
            dir.resolve("out").toString());
    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err()).contains("--inproc shares the policy in memory: drop --weights-store");
    assertThat(Files.exists(dir.resolve("store"))).isFalse();
  }

  @Test
  void helpSaysWhatTheStoreCarriesAndThatTheTopicCarriesAPointer() {
    for (var command : new String[] {"actor", "learner", "ppo"}) {
      assertThat(CliRun.run(command, "--help").out())
          .as(command)
          .contains("--weights-store=DIR")
          .contains("signed pointer");
    }
  }
}
