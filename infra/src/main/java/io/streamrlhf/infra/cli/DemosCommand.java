package io.streamrlhf.infra.cli;

import io.streamrlhf.tasks.Demonstrations;
import io.streamrlhf.tasks.Jsonl;
import java.nio.file.Path;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
    name = "demos",
    mixinStandardHelpOptions = true,
    showDefaultValues = true,
    description = {
      "Writes SFT demonstrations as simulated labelers write them (docs/TASKS.md): 70%% the reference,"
          + " 15%% the reference wrapped in small talk (chatter), 15%% a family-specific mistake (slip); one"
          + " {\"prompt\",\"family\",\"reference\",\"response\",\"terminated\":true,\"kind\"} line each.",
      "The first N of a seed are the pool 'rlhf sft' trains on with demonstrations=N and the same seed;"
          + " their prompts are distinct but for color's and insult's, which run out of objects and names to"
          + " ask about.",
      "The response is followed by end-of-sequence, which the tokenizer appends; the file is"
          + " also valid input to 'rlhf grade'."
    })
final class DemosCommand implements Runnable {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Option(
      names = "--n",
      defaultValue = "1000",
      paramLabel = "N",
      description = "How many demonstrations.")
  int n;

  @Option(
      names = "--seed",
      defaultValue = "0",
      paramLabel = "S",
      description = "Seed: the same seed gives the same file.")
  long seed;

  @Option(
      names = "--out",
      required = true,
      converter = TaskFiles.FileOption.class,
      paramLabel = "FILE.jsonl",
      description =
          "Where to write the demonstrations (- for standard output); a file there is replaced once all is written.")
  Path out;

  @Override
  public void run() {
    if (n < 0) {
      throw new UserError("--n must be >= 0, got " + n);
    }
    TaskFiles.writeLines(
        out,
        () ->
            java.util.stream.StreamSupport.stream(
                    Demonstrations.drawn(seed, n).spliterator(), false)
                .map(Jsonl::demonstrationLine)
                .iterator(),
        spec.commandLine().getErr(),
        "demos: demonstrations",
        n);
    TaskFiles.lines(spec, out).printf("wrote %d demonstrations (seed %d) to %s%n", n, seed, out);
  }
}
