package io.streamrlhf.infra.cli;

import io.streamrlhf.model.checkpoint.Checkpoint;
import io.streamrlhf.tasks.Jsonl;
import io.streamrlhf.tasks.Task;
import java.io.BufferedWriter;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.FilterWriter;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import picocli.CommandLine;

/**
 * The files the tasks commands write: parent folders made, one clear error otherwise, and written
 * whole or not at all (a file the command replaces stays as it was until the new one is complete).
 */
final class TaskFiles {
  private TaskFiles() {}

  /**
   * An {@code --out FILE.jsonl}: a value ending in '/' names a directory, which {@link Path} would
   * quietly turn into a file of that name.
   */
  static final class FileOption implements CommandLine.ITypeConverter<Path> {
    @Override
    public Path convert(String value) {
      if (value.isBlank()) throw new CommandLine.TypeConversionException("empty: give a file");
      if (value.equals("-")) return Path.of("/dev/stdout"); // as Unix tools read it
      if (value.endsWith("/"))
        throw new CommandLine.TypeConversionException(
            "'" + value + "' ends with '/', a directory: give a file");
      return Path.of(value);
    }
  }

  /**
   * An output being written beside its destination: {@link #commit} moves it into place; closing
   * without a commit (the command failed) deletes it and leaves {@code out} as it was, and so does
   * a run stopped by a signal, at the JVM's exit. A device or pipe is written in place. A write
   * that fails says which file it was writing (a full disk's "No space left on device" alone does
   * not).
   */
  static final class Output implements AutoCloseable {
    private final Path out;
    private final Path partial;
    private final Writer writer;
    private boolean committed;

    private Output(Path out, Path partial, Writer buffered) {
      this.out = out;
      this.partial = partial;
      this.writer = new Named(buffered, out);
    }

    Writer writer() {
      return writer;
    }

    /** Flushes and moves the finished file to its destination. */
    void commit() throws IOException {
      writer.close();
      if (partial != null) { // else written in place
        try {
          Files.move(
              partial, out, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
          Files.move(partial, out, StandardCopyOption.REPLACE_EXISTING);
        }
      }
      committed = true;
    }

    @Override
    public void close() throws IOException {
      if (committed) return;
      try {
        writer.close(); // flushing onto a full disk fails again
      } finally {
        if (partial != null) Files.deleteIfExists(partial);
      }
    }
  }

  /** A writer whose failures name the file it writes. */
  private static final class Named extends FilterWriter {
    private final Path file;

    Named(Writer writer, Path file) {
      super(writer);
      this.file = file;
    }

    private interface Write {
      void run() throws IOException;
    }

    private void named(Write write) throws IOException {
      try {
        write.run();
      } catch (IOException e) {
        throw new IOException("cannot write " + file + ": " + reason(e), e);
      }
    }

    @Override
    public void write(int c) throws IOException {
      named(() -> out.write(c));
    }

    @Override
    public void write(char[] chars, int offset, int length) throws IOException {
      named(() -> out.write(chars, offset, length));
    }

    @Override
    public void write(String text, int offset, int length) throws IOException {
      named(() -> out.write(text, offset, length));
    }

    @Override
    public void flush() throws IOException {
      named(out::flush);
    }

    @Override
    public void close() throws IOException {
      named(out::close);
    }
  }

  /**
   * Whether {@code out} names this process's standard output: written through it rather than opened
   * anew (a second opening starts at offset 0, and truncates a file the shell appends to), and the
   * command's own lines go to stderr, not into the data.
   */
  static boolean isStdout(Path out) {
    var absolute = out.toAbsolutePath().normalize().toString();
    return absolute.equals("/dev/stdout")
        || absolute.equals("/dev/fd/1")
        || absolute.equals("/proc/self/fd/1");
  }

  /** Where a command that writes {@code out} prints its own lines: stderr when out is stdout. */
  static PrintWriter lines(CommandLine.Model.CommandSpec spec, Path out) {
    return isStdout(out) ? spec.commandLine().getErr() : spec.commandLine().getOut();
  }

  static Output create(Path out) {
    if (isStdout(out)) {
      // flushed, never closed: closing would close this process's standard output
      var stdout =
          new OutputStreamWriter(new FileOutputStream(FileDescriptor.out), StandardCharsets.UTF_8) {
            @Override
            public void close() throws IOException {
              flush();
            }
          };
      return new Output(out, null, new BufferedWriter(stdout));
    }
    if (Files.isDirectory(out)) {
      throw new UserError("--out " + out + " is a directory: give a file");
    }
    try {
      var parent = out.toAbsolutePath().getParent();
      if (parent != null) {
        requireOutsideCheckpoints(out, out.toAbsolutePath().normalize().getParent());
        Files.createDirectories(parent);
      }
      // a device or pipe, and /dev/stdout whatever it stands for, are written in place
      var absolute = out.toAbsolutePath().normalize();
      if ((Files.exists(out) && !Files.isRegularFile(out))
          || absolute.startsWith("/dev")
          || absolute.startsWith("/proc")) {
        return new Output(out, null, Files.newBufferedWriter(out, StandardCharsets.UTF_8));
      }
      // through a symbolic link, even one that names no file yet, to the file it names
      var target = absolute;
      for (int hops = 0; Files.isSymbolicLink(target) && hops < 40; hops++) {
        target = target.getParent().resolve(Files.readSymbolicLink(target)).normalize();
      }
      requireOutsideCheckpoints(out, target.getParent());
      Files.createDirectories(target.getParent());
      var partial = target.resolveSibling(target.getFileName() + ".partial");
      partial.toFile().deleteOnExit(); // a run stopped by a signal leaves no partial file behind
      return new Output(target, partial, Files.newBufferedWriter(partial, StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new UserError("cannot write " + out + ": " + reason(e), e);
    }
  }

  /**
   * What went wrong, in words: the JDK's file-system exceptions often carry only the file's name.
   */
  static String reason(IOException e) {
    if (!(e instanceof FileSystemException fs) || fs.getReason() != null) return e.getMessage();
    String why;
    if (e instanceof FileAlreadyExistsException) why = "exists, and is not a directory";
    else if (e instanceof AccessDeniedException) why = "permission denied";
    else if (e instanceof NoSuchFileException) why = "no such file or directory";
    else if (e instanceof NotDirectoryException) why = "not a directory";
    else return e.getMessage();
    return fs.getFile() + ": " + why;
  }

  /**
   * Writes {@code text} to {@code file} in UTF-8, whole or not at all ({@link #create}): a failure
   * names the file and leaves what was there before.
   */
  static void writeString(Path file, String text) throws IOException {
    try (var output = create(file)) {
      output.writer().write(text);
      output.commit();
    }
  }

  /** Why an input file cannot be read as one: missing, a directory, or a pipe or device. */
  static String notAFile(Path file) {
    if (Files.isDirectory(file)) return file + " is a directory: give a file";
    if (Files.exists(file))
      return file + " is not a regular file (a pipe or a device): save its contents to a file";
    return "no such file: " + file;
  }

  /**
   * Refuses an output written into {@code into} (absolute) when that is a checkpoint's directory or
   * lies anywhere under one: there it could replace config.json or latest.json and leave a run that
   * cannot be resumed, or be deleted with a step directory when the run prunes it.
   */
  static void requireOutsideCheckpoints(Path out, Path into) {
    requireOutsideCheckpoints("--out", out, into);
  }

  /** {@link #requireOutsideCheckpoints(Path, Path)} for an output given by {@code flag}. */
  static void requireOutsideCheckpoints(String flag, Path out, Path into) {
    for (var dir = into; dir != null; dir = dir.getParent()) {
      if (isCheckpoint(dir)) {
        throw new UserError(
            flag
                + " "
                + out
                + " is inside the checkpoint in "
                + dir
                + ": choose an "
                + flag
                + " outside it");
      }
    }
  }

  /**
   * Whether {@code dir} is a checkpoint's directory: a latest.json that reads as a checkpoint
   * pointer, and the step directory it names (another tool's latest.json is not one).
   */
  private static boolean isCheckpoint(Path dir) {
    if (!Checkpoint.exists(dir)) return false;
    try {
      return Files.isDirectory(dir.resolve(Checkpoint.latest(dir).directory()));
    } catch (IOException | RuntimeException notAPointer) {
      return false;
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
    writeLines(
        out,
        () ->
            java.util.stream.StreamSupport.stream(tasks.spliterator(), false)
                .map(Jsonl::taskLine)
                .iterator(),
        null,
        null,
        0);
  }

  /** Lines between progress reports of a long write. */
  static final int PROGRESS_EVERY = 1_000_000;

  /**
   * Writes {@code lines}, each ended by a newline, to {@code out} whole or not at all; with a
   * {@code progress} writer, says every {@link #PROGRESS_EVERY} lines how far it is, as "what: i /
   * total".
   */
  static void writeLines(
      Path out, Iterable<String> lines, PrintWriter progress, String what, long total) {
    writeLines(out, lines, progress, what, total, PROGRESS_EVERY);
  }

  static void writeLines(
      Path out, Iterable<String> lines, PrintWriter progress, String what, long total, int every) {
    try (var file = create(out)) {
      var writer = file.writer();
      long written = 0;
      for (var line : lines) {
        writer.write(line);
        writer.write('\n');
        if (progress != null && ++written % every == 0 && written < total) {
          progress.printf("%s: %d / %d%n", what, written, total);
          progress.flush();
        }
      }
      file.commit();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
