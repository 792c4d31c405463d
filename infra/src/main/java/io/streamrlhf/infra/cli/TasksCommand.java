package io.streamrlhf.infra.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code rlhf tasks ...}: the task world of docs/TASKS.md written to files (module {@code tasks}).
 */
@Command(
    name = "tasks",
    mixinStandardHelpOptions = true,
    description = {
      "The instruction task suite of docs/TASKS.md: held-out eval prompts, training prompts,"
          + " SFT demonstrations, the pretraining corpus, and labeler calibration.",
      "JSONL files hold one object per line; \"prompt\" is the full prompt, trailing newline"
          + " included (\"Reverse cat.\\n\")."
    },
    subcommands = {
      EvalSetCommand.class,
      SampleCommand.class,
      DemosCommand.class,
      CorpusCommand.class,
      CalibrateCommand.class,
      picocli.CommandLine.HelpCommand.class
    })
public final class TasksCommand implements Runnable {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  /** Without a command there is nothing to do: a usage mistake (exit 2) that names the commands. */
  @Override
  public void run() {
    throw UserErrors.missingCommand(spec.commandLine());
  }
}
