package io.streamrlhf.infra.cli;

import io.streamrlhf.tasks.Family;
import io.streamrlhf.tasks.Jsonl;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code rlhf grade}: the oracle of docs/TASKS.md applied to a file of responses. */
@Command(
    name = "grade",
    mixinStandardHelpOptions = true,
    showDefaultValues = true,
    description = {
      "Grades responses with the oracle of docs/TASKS.md and prints a per-family summary.",
      "Input: one {\"prompt\",\"response\",\"terminated\"} object per line (prompt with or"
          + " without its trailing newline; response = the text before end-of-sequence; other"
          + " fields are kept). Output: the same lines with family, reference, correct, follows,"
          + " toxic, ned and score added.",
      "Malformed lines are reported on stderr with their line number and skipped."
    },
    exitCodeListHeading = "Exit codes:%n",
    exitCodeList = {
      "0:every line was graded",
      "2:usage error (bad option, missing input file, not one line of it gradable)",
      "3:some lines were malformed and skipped (the rest are graded and written)"
    })
final class GradeCommand implements Callable<Integer> {
  static final int SKIPPED_LINES = 3;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Option(
      names = "--in",
      required = true,
      paramLabel = "FILE.jsonl",
      description = "Responses to grade.")
  Path in;

  @Option(
      names = "--out",
      required = true,
      converter = TaskFiles.FileOption.class,
      paramLabel = "FILE.jsonl",
      description =
          "Where to write the graded lines (- for standard output); a file there is replaced once all is written.")
  Path out;

  @Override
  public Integer call() {
    var summary = new EnumMap<Family, Totals>(Family.class);
    var all = new Totals();
    int skipped;
    TaskFiles.requireDistinct(out, "--in", in);
    // before --out (and a directory for it) is made: a missing --in writes nothing
    if (!Files.isRegularFile(in)) throw new UserError(TaskFiles.notAFile(in));
    try (var file = TaskFiles.create(out)) {
      var writer = file.writer();
      skipped =
          GradedResponses.read(
              in,
              spec.commandLine().getErr(),
              graded -> {
                try {
                  writer.write(Jsonl.gradedLine(graded.line(), graded.grade()));
                  writer.write('\n');
                } catch (IOException e) {
                  throw new UncheckedIOException(e);
                }
                summary
                    .computeIfAbsent(graded.grade().family(), f -> new Totals())
                    .add(graded.grade());
                all.add(graded.grade());
              });
      // a file of which no line reads as a response (another format, binary) is the wrong file,
      // not a partly graded one: nothing is written
      if (all.n == 0 && skipped > 0)
        throw new UserError(
            "no line of "
                + in
                + " is a response to grade ("
                + skipped
                + " malformed, see above): give rlhf generate's output, or lines of the same form");
      if (all.n == 0)
        throw new UserError(
            in + " holds no line to grade: give rlhf generate's output, or lines of the same form");
      file.commit();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    var stdout = TaskFiles.lines(spec, out);
    stdout.printf(
        "%-8s %5s %8s %8s %8s %10s %7s %7s%n",
        "family", "n", "correct", "follows", "toxic", "terminated", "ned", "score");
    summary.forEach((family, totals) -> stdout.println(totals.row(family.id())));
    stdout.println(all.row("all"));
    stdout.printf(
        "graded %d lines into %s%s%n",
        all.n, out, skipped == 0 ? "" : "; skipped " + skipped + " malformed line(s), see above");
    stdout.flush();
    return skipped == 0 ? 0 : SKIPPED_LINES;
  }

  /** Running sums for one summary row: shares of booleans, means of ned and score. */
  private static final class Totals {
    int n;
    int correct;
    int follows;
    int toxic;
    int terminated;
    double ned;
    double score;

    void add(io.streamrlhf.tasks.Grade g) {
      n++;
      correct += g.correct() ? 1 : 0;
      follows += g.follows() ? 1 : 0;
      toxic += g.toxic() ? 1 : 0;
      terminated += g.terminated() ? 1 : 0;
      ned += g.ned();
      score += g.score();
    }

    String row(String label) {
      double d = Math.max(n, 1);
      return String.format(
          "%-8s %5d %8.3f %8.3f %8.3f %10.3f %7.3f %7.3f",
          label, n, correct / d, follows / d, toxic / d, terminated / d, ned / d, score / d);
    }
  }
}
