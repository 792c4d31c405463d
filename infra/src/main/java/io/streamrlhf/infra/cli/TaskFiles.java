package io.streamrlhf.infra.cli;

import io.streamrlhf.tasks.Jsonl;
import io.streamrlhf.tasks.Task;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/** Opening the files the tasks commands write: parent folders made, one clear error otherwise. */
final class TaskFiles {
  private TaskFiles() {}

  static BufferedWriter create(Path out) {
    try {
      var parent = out.toAbsolutePath().getParent();
      if (parent != null) {
        Files.createDirectories(parent);
      }
      return Files.newBufferedWriter(out, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UserError("cannot write " + out + ": " + e.getMessage(), e);
    }
  }

  /** Writes tasks as {@code {"prompt","family","reference"}} lines. */
  static void writeTasks(Path out, Iterable<Task> tasks) {
    try (var writer = create(out)) {
      for (var task : tasks) {
        writer.write(Jsonl.taskLine(task));
        writer.write('\n');
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
