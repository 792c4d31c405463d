package io.streamrlhf.infra.cli;

import io.streamrlhf.tasks.Grade;
import io.streamrlhf.tasks.Jsonl;
import io.streamrlhf.tasks.Oracle;
import io.streamrlhf.tasks.Task;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;

/**
 * Reads a file of {@code {"prompt","response","terminated"}} lines and grades each with the oracle.
 * A line that is not UTF-8, not such an object, or whose prompt fits no family, is skipped and
 * reported on stderr as file:line (the first {@value #LISTED}, then counted); blank lines are
 * ignored.
 */
final class GradedResponses {
  record Graded(int lineNumber, Jsonl.ResponseLine line, Grade grade) {}

  /** Malformed lines named one by one; the rest are counted. */
  static final int LISTED = 20;

  private GradedResponses() {}

  /** Calls {@code each} for every gradable line, in file order; returns how many were skipped. */
  static int read(Path in, PrintWriter err, Consumer<Graded> each) {
    if (!Files.isRegularFile(in)) {
      throw new UserError(TaskFiles.notAFile(in));
    }
    int[] skipped = {0};
    try {
      Utf8Lines.forEach(
          in,
          raw -> {
            Graded graded;
            try {
              var text = raw.text();
              if (text.isBlank()) return;
              var line = Jsonl.readResponse(text);
              var task = Task.parse(line.prompt());
              graded =
                  new Graded(
                      raw.number(), line, Oracle.grade(task, line.response(), line.terminated()));
            } catch (IllegalArgumentException e) {
              // the wrong file (a corpus, weights) is malformed on every line: name a few
              if (skipped[0] < LISTED)
                err.printf("%s:%d: skipped malformed line: %s%n", in, raw.number(), e.getMessage());
              else if (skipped[0] == LISTED)
                err.printf("%s: more malformed lines skipped, not listed; counted below%n", in);
              skipped[0]++;
              return;
            }
            each.accept(graded);
          });
    } catch (IOException e) {
      throw new UserError("cannot read " + in + " (" + e + ")", e);
    }
    return skipped[0];
  }
}
