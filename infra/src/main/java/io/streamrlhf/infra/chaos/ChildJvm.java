package io.streamrlhf.infra.chaos;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * One {@code rlhf} command as a child JVM on this JVM's classpath, as {@code ./rlhf} would start it
 * (offline DJL, the same stack size and collector), its output lines into a {@link Transcript}; and
 * the signals chaos sends it: SIGKILL ({@link #kill}) and SIGTERM ({@link #stop}).
 */
public final class ChildJvm {
  private static final String MAIN = "io.streamrlhf.infra.cli.Rlhf";

  /**
   * The environment variable that gives a child this JVM's pid: the child stops once this JVM is
   * gone ({@code ParentWatch}, in {@code Rlhf.main}), even when SIGKILL or the OOM killer ended it
   * and the exit hook below never ran. Set for the children only: a user's command has none.
   */
  public static final String PARENT_PID = "RLHF_PARENT_PID";

  /**
   * Children still running when this JVM exits are killed: chaos leaves no orphan behind (and when
   * it is killed, they stop on their own: {@link #PARENT_PID}).
   */
  private static final Set<Process> LIVE = ConcurrentHashMap.newKeySet();

  static {
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(() -> LIVE.forEach(Process::destroyForcibly), "chaos-children-cleanup"));
  }

  private final String source;
  private final Process process;
  private final Thread reader;
  private volatile boolean signalled;

  private ChildJvm(String source, Process process, Thread reader) {
    this.source = source;
    this.process = process;
    this.reader = reader;
  }

  /**
   * Starts {@code rlhf ARGS}.
   *
   * @param source the name its lines carry in the transcript (e.g. {@code learner#2})
   * @param heap the child's -Xmx (e.g. {@code 768m}): bounded, so a leak shows and a forged length
   *     fails the way it would in production instead of filling the machine
   * @param jvmFlags more JVM flags (the soak pre-touches the heap)
   * @param properties extra system properties (fault hooks such as {@code rlhf.fault.*})
   */
  public static ChildJvm start(
      String source,
      List<String> args,
      String heap,
      List<String> jvmFlags,
      Map<String, String> properties,
      Transcript transcript) {
    var command = new ArrayList<String>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(List.of("-cp", System.getProperty("java.class.path")));
    command.addAll(List.of("-Xmx" + heap, "-Xss4m", "-XX:+UseParallelGC"));
    command.addAll(jvmFlags);
    command.add("-Dai.djl.offline=true");
    // tiny models gain nothing from a second intra-op thread, and the cores are shared
    command.add(
        "-Dai.djl.pytorch.num_threads=" + System.getProperty("ai.djl.pytorch.num_threads", "1"));
    var home = System.getProperty("rlhf.home");
    if (home != null) command.add("-Drlhf.home=" + home);
    properties.forEach((k, v) -> command.add("-D" + k + "=" + v));
    command.add(MAIN);
    command.addAll(args);
    var builder = new ProcessBuilder(command).redirectErrorStream(true);
    builder.environment().putIfAbsent("OMP_WAIT_POLICY", "PASSIVE");
    // this JVM's, not one it inherited: its own parent is not the children's
    builder.environment().put(PARENT_PID, Long.toString(ProcessHandle.current().pid()));
    Process process;
    try {
      process = builder.start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot start rlhf " + args.get(0) + " as a child JVM", e);
    }
    LIVE.add(process);
    process.onExit().thenRun(() -> LIVE.remove(process));
    transcript.add(
        transcript.harness(),
        "started " + source + " (pid " + process.pid() + "): rlhf " + String.join(" ", args));
    var reader =
        new Thread(
            () -> {
              try (var lines =
                  new BufferedReader(
                      new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = lines.readLine()) != null; ) transcript.add(source, line);
              } catch (IOException closed) {
                // the process is gone
              }
            },
            "chaos-" + source + "-output");
    reader.setDaemon(true);
    reader.start();
    return new ChildJvm(source, process, reader);
  }

  public String source() {
    return source;
  }

  public long pid() {
    return process.pid();
  }

  public boolean alive() {
    return process.isAlive();
  }

  /** The process as the OS knows it (its CPU time, for instance), while it runs. */
  public ProcessHandle handle() {
    return process.toHandle();
  }

  /** The exit code once it exited; empty while it runs. */
  public OptionalInt exitCode() {
    return process.isAlive() ? OptionalInt.empty() : OptionalInt.of(process.exitValue());
  }

  /** Whether chaos signalled it (kill or stop): an exit that follows is planned. */
  public boolean signalled() {
    return signalled;
  }

  /** An exit chaos arranged another way (a fault hook that halts it): planned, not a failure. */
  public void expectExit() {
    signalled = true;
  }

  /** SIGKILL: no shutdown hook, no flush; returns once the process is gone. */
  public void kill() {
    signalled = true;
    process.destroyForcibly();
    awaitExit(Duration.ofSeconds(30));
  }

  /** SIGTERM, then SIGKILL if it has not exited within {@code grace}. */
  public void stop(Duration grace) {
    signalled = true;
    if (!process.isAlive()) return;
    process.destroy();
    try {
      if (!process.waitFor(grace.toMillis(), TimeUnit.MILLISECONDS)) kill();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      process.destroyForcibly();
    }
    awaitOutput();
  }

  /**
   * SIGSTOP: the process stays alive, holding its files and connections, but does nothing (a long
   * GC pause, a hung host) until {@link #thaw}.
   */
  public void freeze() {
    signal("STOP");
  }

  /** SIGCONT after {@link #freeze}: it carries on where it stopped, unaware of the time passed. */
  public void thaw() {
    signal("CONT");
  }

  private void signal(String name) {
    try {
      var kill = new ProcessBuilder("kill", "-" + name, Long.toString(pid())).inheritIO().start();
      if (!kill.waitFor(10, TimeUnit.SECONDS) || kill.exitValue() != 0)
        throw new IllegalStateException("kill -" + name + " " + pid() + " failed");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot run kill -" + name, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Waits for the exit; false when it still runs after {@code timeout}. */
  public boolean awaitExit(Duration timeout) {
    try {
      boolean exited = process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS);
      if (exited) awaitOutput();
      return exited;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  /** Its resident set from /proc/PID/status; null when it is gone. */
  public Resident resident() {
    try {
      var resident =
          Resident.parse(Files.readAllLines(Path.of("/proc", Long.toString(pid()), "status")));
      return resident.totalKb() > 0 ? resident : null;
    } catch (IOException | RuntimeException gone) {
      return null;
    }
  }

  /** The last lines it printed are in the transcript before anyone reads its exit. */
  private void awaitOutput() {
    try {
      reader.join(5_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
