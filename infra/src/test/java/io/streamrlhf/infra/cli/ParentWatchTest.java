package io.streamrlhf.infra.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamrlhf.infra.chaos.ChildJvm;
import io.streamrlhf.infra.chaos.Transcript;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A child {@code rlhf} (here {@code dashboard}, which runs until stopped) started with {@link
 * ChildJvm#PARENT_PID} stops once that process is gone, even killed by SIGKILL, which runs no exit
 * hook of the parent's; and the chaos harness gives its children that variable. The stand-in parent
 * is {@code sleep}, a child of the test, so the test can kill it. Each wait is on an event (a line,
 * an exit) with a bound of a minute; the class timeout only keeps a regression from hanging the
 * build.
 */
@Timeout(value = 4, unit = TimeUnit.MINUTES)
class ParentWatchTest {
  @TempDir Path dir;
  private final List<Process> started = new ArrayList<>();

  @AfterEach
  void killWhatIsLeft() {
    started.forEach(Process::destroyForcibly);
  }

  @Test
  void aChildWhoseParentIsKilledStopsAsOnSigtermAndNamesThePid() throws Exception {
    var parent = start(new ProcessBuilder("sleep", "600"));
    var stderr = dir.resolve("stderr.txt");
    var child = dashboard(Long.toString(parent.pid()), stderr);
    awaitServing(child, stderr);
    assertThat(child.isAlive()).as("serving while its parent lives").isTrue();

    parent.destroyForcibly(); // SIGKILL
    parent.onExit().get(60, TimeUnit.SECONDS);

    child.onExit().get(60, TimeUnit.SECONDS);
    assertThat(child.exitValue()).isEqualTo(ParentWatch.STOPPED).isEqualTo(143);
    assertThat(Files.readString(stderr).strip())
        .isEqualTo(
            "rlhf dashboard: its parent process (pid "
                + parent.pid()
                + ") is gone; stopping as SIGTERM would (exit code 143)");
  }

  /** Gone before the child looks (killed as it started): the child stops before it serves. */
  @Test
  void aChildWhoseParentIsAlreadyGoneStopsAtOnce() throws Exception {
    var parent = start(new ProcessBuilder("true"));
    parent.onExit().get(60, TimeUnit.SECONDS); // exited and reaped: the pid names no process
    var stderr = dir.resolve("stderr.txt");
    var child = dashboard(Long.toString(parent.pid()), stderr);

    child.onExit().get(60, TimeUnit.SECONDS);
    assertThat(child.exitValue()).isEqualTo(143);
    assertThat(new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8))
        .as("it served nothing")
        .doesNotContain("dashboard:");
    assertThat(Files.readString(stderr))
        .contains("(pid " + parent.pid() + ") is gone; stopping as SIGTERM would");
  }

  /**
   * The choice for a value that is no pid: the command runs, unwatched, after one line that says
   * so; it is the launcher's mistake, not the user's, so it fails nothing. Unset: not a word.
   */
  @Test
  void aValueThatIsNoPidIsIgnoredWithOneLine() throws Exception {
    for (var value : List.of("abc", "-5", "0", " 12", "12x", "99999999999999999999")) {
      var err = new ByteArrayOutputStream();
      var pid = ParentWatch.parentPid(value, new PrintStream(err, true, StandardCharsets.UTF_8));
      assertThat(pid).as(value).isEmpty();
      assertThat(err.toString(StandardCharsets.UTF_8))
          .as(value)
          .isEqualTo(
              "rlhf: ignoring RLHF_PARENT_PID="
                  + value
                  + ": not a process id, so no parent process is watched"
                  + System.lineSeparator());
    }
    for (var value : Arrays.asList(null, "")) {
      var err = new ByteArrayOutputStream();
      assertThat(ParentWatch.parentPid(value, new PrintStream(err, true, StandardCharsets.UTF_8)))
          .isEmpty();
      assertThat(err.size()).as("unset or empty: silent").isZero();
    }
    assertThat(ParentWatch.parentPid("4242", System.err)).hasValue(4242);
  }

  /** The same through the real entry point: the command does its work and exits 0. */
  @Test
  void theCommandRunsUnwatchedWhenTheValueIsNoPid() throws Exception {
    var stderr = dir.resolve("stderr.txt");
    var builder = java("--version").redirectError(stderr.toFile());
    builder.environment().put(ChildJvm.PARENT_PID, "not-a-pid");
    var child = start(builder);
    var out = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);

    child.onExit().get(60, TimeUnit.SECONDS);
    assertThat(child.exitValue()).isZero();
    assertThat(out).startsWith("rlhf ");
    assertThat(Files.readAllLines(stderr))
        .containsExactly(
            "rlhf: ignoring RLHF_PARENT_PID=not-a-pid: not a process id, so no parent process is"
                + " watched");
  }

  /**
   * The chaos harness (and race, scale-model, which start theirs the same way) gives each child its
   * own pid, whatever it inherited itself: read from the child's environment as the OS holds it.
   */
  @Test
  void theChaosHarnessGivesItsChildrenItsPid() throws Exception {
    var transcript = new Transcript(new PrintWriter(new StringWriter()));
    var child =
        ChildJvm.start(
            "dashboard",
            List.of("dashboard", "--run", dir.resolve("run").toString(), "--port", "0"),
            "128m",
            List.of(),
            Map.of(),
            transcript);
    try {
      var environ = Files.readAllBytes(Path.of("/proc", Long.toString(child.pid()), "environ"));
      // only this variable: a failure does not print the rest of the environment
      assertThat(
              Arrays.stream(new String(environ, StandardCharsets.UTF_8).split("\0"))
                  .filter(entry -> entry.startsWith(ChildJvm.PARENT_PID + "=")))
          .containsExactly(ChildJvm.PARENT_PID + "=" + ProcessHandle.current().pid());
    } finally {
      child.stop(Duration.ofSeconds(30));
    }
  }

  private Process dashboard(String parentPid, Path stderr) throws Exception {
    var builder =
        java("dashboard", "--run", dir.resolve("run").toString(), "--port", "0")
            .redirectError(stderr.toFile());
    builder.environment().put(ChildJvm.PARENT_PID, parentPid);
    return start(builder);
  }

  private static ProcessBuilder java(String... args) {
    var builder =
        CliRun.inChildJvm(List.of("-Xmx128m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"), args);
    builder.environment().remove(ChildJvm.PARENT_PID);
    return builder;
  }

  private Process start(ProcessBuilder builder) throws Exception {
    var process = builder.start();
    started.add(process);
    return process;
  }

  /** Reads the child's output until its serving line (it prints nothing after it). */
  private static void awaitServing(Process child, Path stderr) throws Exception {
    var lines =
        new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
    String line;
    do line = lines.readLine();
    while (line != null && !line.startsWith("dashboard: http"));
    assertThat(line).as("its serving line; stderr: %s", Files.readString(stderr)).isNotNull();
  }
}
