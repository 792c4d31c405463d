package io.streamrlhf.infra.cli;

import io.streamrlhf.tasks.Family;
import io.streamrlhf.tasks.Jsonl;
import io.streamrlhf.tasks.TrainingPrompts;
import java.nio.file.Path;
import java.util.stream.Stream;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(
    name = "sample",
    mixinStandardHelpOptions = true,
    showDefaultValues = true,
    description = {
      "Writes training prompts (as PPO prompts and label requests use them), one"
          + " {\"prompt\",\"family\",\"reference\"} line each.",
      "Never a held-out prompt; color and insult ask about training objects and names only."
    })
final class SampleCommand implements Runnable {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Option(
      names = "--family",
      defaultValue = "all",
      paramLabel = "F",
      description =
          "One family (reverse, upper, sort, add, count, repeat, color, insult), or 'all' to draw families uniformly.")
  String family;

  @Option(names = "--n", defaultValue = "1000", paramLabel = "N", description = "How many prompts.")
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
          "Where to write the prompts (- for standard output); a file there is replaced once all is written.")
  Path out;

  @Override
  public void run() {
    if (n < 0) {
      throw new UserError("--n must be >= 0, got " + n);
    }
    var only = family.equalsIgnoreCase("all") ? null : family(family);
    // drawn as they are written: a file of millions of prompts is not held in memory
    Iterable<String> lines =
        () -> {
          var prompts = new TrainingPrompts(seed);
          return Stream.generate(() -> only == null ? prompts.next() : prompts.next(only))
              .limit(n)
              .map(Jsonl::taskLine)
              .iterator();
        };
    TaskFiles.writeLines(out, lines, spec.commandLine().getErr(), "sample: prompts", n);
    TaskFiles.lines(spec, out)
        .printf(
            "wrote %d %s training prompts (seed %d) to %s%n",
            n, only == null ? "mixed-family" : only.id(), seed, out);
  }

  /** --family's value; Family.byId's message names the families to choose from. */
  private static Family family(String id) {
    try {
      return Family.byId(id);
    } catch (IllegalArgumentException e) {
      throw new UserError("--family: " + e.getMessage() + ", or all", e);
    }
  }
}
