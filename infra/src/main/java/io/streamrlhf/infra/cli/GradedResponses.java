package io.streamrlhf.infra.cli;

import io.streamrlhf.tasks.Grade;
import io.streamrlhf.tasks.Jsonl;
import io.streamrlhf.tasks.Oracle;
import io.streamrlhf.tasks.Task;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;

/**
 * Reads a file of {@code {"prompt","response","terminated"}} lines and grades each with the oracle.
 * A line that is not such an object, or whose prompt fits no family, is reported on stderr with its
 * line number and skipped; blank lines are ignored.
 */
final class GradedResponses {
  record Graded(int lineNumber, Jsonl.ResponseLine line, Grade grade) {}

  private GradedResponses() {}

  /** Calls {@code each} for every gradable line, in file order; returns how many were skipped. */
  static int read(Path in, PrintWriter err, Consumer<Graded> each) {
    if (!Files.isRegularFile(in)) {
      throw new UserError("no such file: " + in);
    }
    int skipped = 0;
    try (var reader = Files.newBufferedReader(in, StandardCharsets.UTF_8)) {
      String text;
      int lineNumber = 0;
      while ((text = reader.readLine()) != null) {
        lineNumber++;
        if (text.isBlank()) {
          continue;
        }
        Graded graded;
        try {
          var line = Jsonl.readResponse(text);
          var task = Task.parse(line.prompt());
          graded =
              new Graded(lineNumber, line, Oracle.grade(task, line.response(), line.terminated()));
        } catch (IllegalArgumentException e) {
          err.printf("%s:%d: skipped malformed line: %s%n", in, lineNumber, e.getMessage());
          skipped++;
          continue;
        }
        each.accept(graded);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return skipped;
  }
}
