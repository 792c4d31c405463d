package io.streamrlhf.infra.stream;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * A log the streaming tests can wait on: every line printed, and waits for a line (or any
 * condition) with a deadline.
 */
public final class Watch {
  private final List<String> lines = new ArrayList<>();
  private final StringBuilder partial = new StringBuilder();

  /** The thread copying each child process's output into {@link #lines}. */
  private final Map<Process, Thread> readers = new ConcurrentHashMap<>();

  /** Where the loop prints; lines also echo to stdout for the surefire report. */
  PrintWriter writer() {
    return new PrintWriter(
        new Writer() {
          @Override
          public void write(char[] buf, int off, int len) {
            synchronized (Watch.this) {
              for (int i = off; i < off + len; i++) {
                if (buf[i] == '\n') {
                  System.out.println(java.time.LocalTime.now() + " " + partial);
                  lines.add(partial.toString());
                  partial.setLength(0);
                  Watch.this.notifyAll();
                } else {
                  partial.append(buf[i]);
                }
              }
            }
          }

          @Override
          public void flush() {}

          @Override
          public void close() {}
        },
        true);
  }

  void line(String line) {
    System.out.println(java.time.LocalTime.now() + " " + line);
    synchronized (this) {
      lines.add(line);
      notifyAll();
    }
  }

  synchronized List<String> lines() {
    return List.copyOf(lines);
  }

  synchronized boolean has(String fragment) {
    return lines.stream().anyMatch(l -> l.contains(fragment));
  }

  /** Blocks until a printed line contains {@code fragment}; fails after {@code timeout}. */
  synchronized void await(String fragment, Duration timeout) throws InterruptedException {
    await(l -> l.contains(fragment), "a line containing '" + fragment + "'", timeout);
  }

  synchronized void await(Predicate<String> line, String what, Duration timeout)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (lines.stream().noneMatch(line)) {
      long left = deadline - System.nanoTime();
      if (left <= 0)
        throw new AssertionError(
            "no " + what + " within " + timeout + "; log:\n" + String.join("\n", lines));
      wait(Math.max(1, left / 1_000_000));
    }
  }

  /**
   * Polls {@code condition} until true or the deadline passes (for conditions that print nothing).
   */
  public static void until(
      java.util.function.BooleanSupplier condition, String what, Duration timeout)
      throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) throw new AssertionError(what + " not within " + timeout);
      Thread.sleep(20); // polling a condition with a deadline
    }
  }

  /**
   * {@code rlhf ARGS} as a child JVM on this test's classpath (offline, one intra-op thread), its
   * output lines into this watch; SIGKILL it with {@link Process#destroyForcibly()}.
   */
  Process rlhf(List<String> args) throws IOException {
    return rlhf(List.of(), args);
  }

  /** The same with JVM options before the main class, e.g. a fault-injection property. */
  Process rlhf(List<String> jvmOptions, List<String> args) throws IOException {
    var javaBinary = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    var command =
        new ArrayList<>(
            List.of(
                javaBinary,
                "-cp",
                System.getProperty("java.class.path"),
                "-Dai.djl.offline=true",
                "-Dai.djl.pytorch.num_threads=1"));
    command.addAll(jvmOptions);
    command.add("io.streamrlhf.infra.cli.Rlhf");
    command.addAll(args);
    var builder = new ProcessBuilder(command).redirectErrorStream(true);
    builder.environment().put("OMP_WAIT_POLICY", "PASSIVE");
    var process = builder.start();
    var reader =
        new Thread(
            () -> {
              try (var lines =
                  new BufferedReader(
                      new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = lines.readLine()) != null; ) line(line);
              } catch (IOException closed) {
                // the process was killed
              }
            },
            "rlhf-" + args.get(0) + "-output");
    reader.setDaemon(true);
    readers.put(process, reader);
    reader.start();
    return process;
  }

  /**
   * Waits until a process from {@link #rlhf} has exited and its last line is in this watch: a
   * process can exit before the thread copying its output has read its last lines.
   *
   * @return false when either did not happen within {@code timeout}
   */
  boolean exited(Process process, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    if (!process.waitFor(timeout.toNanos(), TimeUnit.NANOSECONDS)) return false;
    var reader = readers.get(process);
    reader.join(Math.max(1, (deadline - System.nanoTime()) / 1_000_000));
    return !reader.isAlive();
  }
}
