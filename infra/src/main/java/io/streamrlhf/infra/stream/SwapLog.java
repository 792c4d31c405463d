package io.streamrlhf.infra.stream;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The publish-to-apply time of every actor's policy swap in a run, one line of milliseconds each in
 * {@value #FILE} beside the learner's checkpoints, appended as the swaps happen: a resumed run's
 * {@code stream-stats.json} then covers the swaps of all its processes, not only the last one's.
 */
final class SwapLog implements AutoCloseable {
  static final String FILE = "publish-to-apply-ms.txt";

  private final Path file;
  private final BufferedWriter writer;
  private final PrintWriter out;
  private boolean closed;

  /**
   * Continues {@code outDir}'s log, or starts it afresh for a run that is not a resume; a write
   * that fails is said once on {@code out}, and the log stops (the run's statistics, not its
   * training: a full disk stops the run at its next checkpoint).
   */
  SwapLog(Path outDir, boolean resume, PrintWriter out) throws IOException {
    this.out = out;
    var options =
        resume
            ? new StandardOpenOption[] {StandardOpenOption.CREATE, StandardOpenOption.APPEND}
            : new StandardOpenOption[] {
              StandardOpenOption.CREATE,
              StandardOpenOption.TRUNCATE_EXISTING,
              StandardOpenOption.WRITE
            };
    file = outDir.resolve(FILE);
    boolean tornLine =
        resume && Files.exists(file) && Files.size(file) > 0 && !endsWithNewline(file);
    writer = Files.newBufferedWriter(file, options);
    if (tornLine) writer.newLine(); // a line a kill cut short stays a line of its own
  }

  private static boolean endsWithNewline(Path file) throws IOException {
    try (var channel = java.nio.channels.FileChannel.open(file)) {
      var last = java.nio.ByteBuffer.allocate(1);
      channel.read(last, channel.size() - 1);
      return last.get(0) == '\n';
    }
  }

  /** One swap; a late event after {@link #close} is dropped. */
  synchronized void add(long millis) {
    if (closed) return;
    try {
      writer.write(Long.toString(millis));
      writer.newLine();
      writer.flush(); // a killed process keeps the swaps it made
    } catch (IOException e) {
      closed = true;
      out.printf(
          "ppo: cannot write %s: %s; the publish-to-apply times of later swaps are not recorded%n",
          file, e.getMessage());
      out.flush();
    }
  }

  /**
   * Every swap the run's processes logged; a line that is not a number (a torn write) is left out.
   */
  static long[] read(Path outDir) throws IOException {
    var file = outDir.resolve(FILE);
    if (!Files.exists(file)) return new long[0];
    try (var lines = Files.lines(file)) {
      return lines.filter(line -> line.matches("\\d+")).mapToLong(Long::parseLong).toArray();
    }
  }

  @Override
  public synchronized void close() throws IOException {
    if (closed) {
      try {
        writer.close(); // after a failed write, already said
      } catch (IOException alreadySaid) {
        // nothing more to keep
      }
      return;
    }
    closed = true;
    writer.close();
  }
}
