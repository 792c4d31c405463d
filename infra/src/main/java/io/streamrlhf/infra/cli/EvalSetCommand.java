package io.streamrlhf.infra.cli;

import io.streamrlhf.tasks.EvalSet;
import java.nio.file.Path;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
    name = "eval-set",
    mixinStandardHelpOptions = true,
    showDefaultValues = true,
    description = {
      "Writes the 400 held-out evaluation prompts (50 per family, fixed seed "
          + EvalSet.SEED
          + "), one {\"prompt\",\"family\",\"reference\"} line each.",
      "Training sources never contain these prompts; color and insult use the evaluation"
          + " objects and names only."
    })
final class EvalSetCommand implements Runnable {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Option(
      names = "--out",
      required = true,
      converter = TaskFiles.FileOption.class,
      paramLabel = "FILE.jsonl",
      description =
          "Where to write the eval set (- for standard output); a file there is replaced once all is written.")
  Path out;

  @Override
  public void run() {
    TaskFiles.writeTasks(out, EvalSet.tasks());
    TaskFiles.lines(spec, out).printf("wrote %d eval prompts to %s%n", EvalSet.tasks().size(), out);
  }
}
