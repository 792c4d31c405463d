package io.streamrlhf.infra.cli;

import static io.streamrlhf.infra.cli.CliRun.run;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class RlhfCliTest {

  @Test
  void helpListsEveryRegisteredCommand() {
    var run = run("--help");
    assertThat(run.exitCode()).isZero();
    for (var name : Rlhf.commandLine().getSubcommands().keySet()) {
      assertThat(run.out()).contains("  " + name);
    }
  }

  @Test
  void everyCommandHasItsOwnHelp() {
    for (var entry : Rlhf.commandLine().getSubcommands().entrySet()) {
      if (entry.getKey().equals("help")) {
        continue;
      }
      var run = run(entry.getKey(), "--help");
      assertThat(run.exitCode()).as(entry.getKey() + " --help").isZero();
      assertThat(run.out())
          .as(entry.getKey() + " --help")
          .contains("Usage: rlhf " + entry.getKey());
    }
  }

  @Test
  void unknownFlagIsOneLineAndExitCodeTwo() {
    var run = run("--no-such-flag");
    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err()).startsWith("rlhf: Unknown option: '--no-such-flag'");
    assertThat(run.err()).doesNotContain("Exception").doesNotContain("\tat ");
  }
}
