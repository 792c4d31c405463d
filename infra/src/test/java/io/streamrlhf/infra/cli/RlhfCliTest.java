package io.streamrlhf.infra.cli;

import static io.streamrlhf.infra.cli.CliRun.run;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
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
  void aFailurePastTheCommandsHandlerIsNamedByTheCommandThatRan() {
    // an out-of-memory error reaches main, which knows only the arguments
    assertThat(Rlhf.who(new String[] {"scale-model", "--actors", "1"}))
        .isEqualTo("rlhf scale-model");
    assertThat(Rlhf.who(new String[] {"tasks", "calibrate", "--in", "x"}))
        .isEqualTo("rlhf tasks calibrate");
    assertThat(Rlhf.who(new String[] {"--help"})).isEqualTo("rlhf");
    assertThat(Rlhf.who(new String[] {"nonsense", "ppo"})).isEqualTo("rlhf");
  }

  @Test
  void everyCommandHasItsOwnHelp() {
    // picocli reports a description it cannot format (a bare %) on System.err, and prints on
    var picocliWarnings = new ByteArrayOutputStream();
    var err = System.err;
    System.setErr(new PrintStream(picocliWarnings, true, StandardCharsets.UTF_8));
    try {
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
    } finally {
      System.setErr(err);
    }
    assertThat(picocliWarnings.toString(StandardCharsets.UTF_8)).doesNotContain("picocli WARN");
  }

  @Test
  void everyCommandsVersionFlagPrintsTheVersion() {
    var top = run("-V");
    assertThat(top.out().strip()).startsWith("rlhf ");
    for (var args :
        new String[][] {{"ppo", "-V"}, {"tasks", "--version"}, {"tasks", "sample", "-V"}}) {
      var run = run(args);
      assertThat(run.exitCode()).as(String.join(" ", args)).isZero();
      assertThat(run.out().strip()).as(String.join(" ", args)).isEqualTo(top.out().strip());
    }
  }

  @Test
  void helpFollowsAPathOfSubcommandsAndNamesAWrongStep() {
    var sample = run("help", "tasks", "sample");
    assertThat(sample.exitCode()).isZero();
    assertThat(sample.out()).isEqualTo(run("tasks", "sample", "--help").out());
    assertThat(sample.out()).startsWith("Usage: rlhf tasks sample ");
    assertThat(run("help", "ppo").out()).isEqualTo(run("ppo", "--help").out());
    // a command with subcommands has its own help command: "tasks help sample" read as a
    // missing --out of a command named help
    var inTasks = run("tasks", "help", "sample");
    assertThat(inTasks.exitCode()).as(inTasks.err()).isZero();
    assertThat(inTasks.out()).isEqualTo(sample.out());

    var wrong = run("help", "tasks", "nope");
    assertThat(wrong.exitCode()).isEqualTo(2);
    assertThat(wrong.err())
        .startsWith("rlhf tasks: Unknown subcommand 'nope'")
        .contains("Try 'rlhf tasks --help' for usage.");
    assertThat(wrong.out()).isEmpty();
    var tooDeep = run("help", "tasks", "sample", "more");
    assertThat(tooDeep.exitCode()).isEqualTo(2);
    assertThat(tooDeep.err()).startsWith("rlhf tasks sample: 'more': sample has no subcommands");
  }

  /** A command one level down typed at the top is named in full, not as a look-alike. */
  @Test
  void aNestedCommandTypedAtTheTopIsSuggestedInFull() {
    var nested = run("sample", "--n", "3");
    assertThat(nested.exitCode()).isEqualTo(2);
    assertThat(nested.err())
        .startsWith("rlhf: Unmatched arguments from index 0: 'sample', '--n', '3'")
        .contains("Did you mean: rlhf tasks sample?")
        .doesNotContain("learner");
    var typo = run("taks");
    assertThat(typo.exitCode()).isEqualTo(2);
    assertThat(typo.err()).contains("Did you mean: rlhf tasks?");
  }

  @Test
  void unknownFlagIsOneLineAndExitCodeTwo() {
    var run = run("--no-such-flag");
    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err()).startsWith("rlhf: Unknown option: '--no-such-flag'");
    assertThat(run.err()).doesNotContain("Exception").doesNotContain("\tat ");
  }

  @Test
  void noCommandIsAUsageMistakeThatNamesTheCommands() {
    var top = run();
    assertThat(top.exitCode()).isEqualTo(2);
    assertThat(top.err()).startsWith("rlhf: a command is needed, one of: ").contains("demo, ");
    assertThat(top.err()).contains("Try 'rlhf --help' for usage.").doesNotContain("\tat ");

    var tasks = run("tasks");
    assertThat(tasks.exitCode()).isEqualTo(2);
    assertThat(tasks.err())
        .startsWith("rlhf tasks: a command is needed, one of: ")
        .contains("demos")
        .contains("Try 'rlhf tasks --help' for usage.");
  }
}
