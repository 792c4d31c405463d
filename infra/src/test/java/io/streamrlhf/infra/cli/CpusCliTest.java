package io.streamrlhf.infra.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** --cpus refusals: one line, exit code 2, before anything else happens (no broker needed). */
class CpusCliTest {
  @TempDir Path dir;

  @Test
  void aMalformedListOrCpusOutsideTheMachineAreRefusedInOneLine() {
    for (var command : List.of("actor", "learner", "broker")) {
      for (var cpus : List.of("0-x", "99999")) {
        var args =
            command.equals("actor")
                ? List.of(command, "--cpus", cpus, "--bootstrap", "127.0.0.1:1", "--sft", "x")
                : command.equals("broker")
                    ? List.of(command, "--cpus", cpus, "--port", "0")
                    : List.of(
                        command,
                        "--cpus",
                        cpus,
                        "--bootstrap",
                        "127.0.0.1:1",
                        "--sft",
                        "x",
                        "--out",
                        dir.resolve("out").toString());
        var run = CliRun.run(args.toArray(String[]::new));
        assertThat(run.exitCode()).as(command + " --cpus " + cpus).isEqualTo(2);
        assertThat(run.err().strip())
            .startsWith("rlhf")
            .contains("--cpus " + cpus)
            .doesNotContain("\n");
        assertThat(run.err())
            .contains(cpus.equals("0-x") ? "not a CPU number" : "not within the CPUs");
      }
    }
  }

  @Test
  void helpSaysWhatPinningDoes() {
    for (var command : List.of("actor", "learner", "broker")) {
      var run = CliRun.run(command, "--help");
      assertThat(run.out())
          .as(command)
          .contains("--cpus=LIST")
          .contains("taskset")
          .contains("Default: not");
    }
  }
}
