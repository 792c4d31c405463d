package io.streamrlhf.infra.cli;

import io.streamrlhf.tasks.Jsonl;
import io.streamrlhf.tasks.Task;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * The files the tasks commands write: parent folders made, one clear error otherwise, and written
 * whole or not at all (a file the command replaces stays as it was until the new one is complete).
 */
final class TaskFiles {
  private TaskFiles() {}

  /**
   * An output being written beside its destination: {@link #commit} moves it into place; closing
   * without a commit (the command failed) deletes it and leaves {@code out} as it was, and so does
   * a run stopped by a signal, at the JVM's exit. A device or pipe is written in place.
   */
  static final class Output implements AutoCloseable {
    private final Path out;
    private final Path partial;
    private final BufferedWriter writer;
    private boolean committed;

    private Output(Path out, Path partial, BufferedWriter writer) {
      this.out = out;
      this.partial = partial;
      this.writer = writer;
    }

    BufferedWriter writer() {
      return writer;
    }

    /** Flushes and moves the finished file to its destination. */
    void commit() throws IOException {
      writer.close();
      committed = true;
      if (partial == null) return; // written in place
      try {
        Files.move(
            partial, out, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(partial, out, StandardCopyOption.REPLACE_EXISTING);
      }
    }

    @Override
    public void close() throws IOException {
      if (committed) return;
      writer.close();
      if (partial != null) Files.deleteIfExists(partial);
    }
  }

  static Output create(Path out) {
    if (Files.isDirectory(out)) {
      throw new UserError("--out " + out + " is a directory: give a file");
    }
    try {
      var parent = out.toAbsolutePath().getParent();
      if (parent != null) {
        Files.createDirectories(parent);
      }
      // through a symbolic link to the file it names; a device or pipe (/dev/stdout) in place
      var target = Files.exists(out) ? out.toRealPath() : out;
      if (Files.exists(target) && !Files.isRegularFile(target)) {
        return new Output(target, null, Files.newBufferedWriter(target, StandardCharsets.UTF_8));
      }
      var partial = target.resolveSibling(target.getFileName() + ".partial");
      partial.toFile().deleteOnExit(); // a run stopped by a signal leaves no partial file behind
      return new Output(target, partial, Files.newBufferedWriter(partial, StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UserError("cannot write " + out + ": " + e.getMessage(), e);
    }
  }

  /**
   * Refuses an output that is one of the command's inputs: written over, the input would be gone.
   */
  static void requireDistinct(Path out, String inputFlag, Path in) {
    try {
      if (Files.exists(out) && Files.exists(in) && Files.isSameFile(out, in)) {
        throw new UserError(
            "--out " + out + " is the " + inputFlag + " file: choose another --out");
      }
    } catch (IOException e) {
      throw new UserError("cannot compare --out " + out + " with " + inputFlag + " " + in, e);
    }
  }

  /** Writes tasks as {@code {"prompt","family","reference"}} lines. */
  static void writeTasks(Path out, Iterable<Task> tasks) {
    try (var file = create(out)) {
      var writer = file.writer();
      for (var task : tasks) {
        writer.write(Jsonl.taskLine(task));
        writer.write('\n');
      }
      file.commit();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
