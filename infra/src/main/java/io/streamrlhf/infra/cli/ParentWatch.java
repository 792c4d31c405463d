package io.streamrlhf.infra.cli;

import io.streamrlhf.infra.chaos.ChildJvm;
import java.io.PrintStream;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * A child {@code rlhf} process's watch on the process that started it ({@code chaos}, {@code race},
 * {@code scale-model --validate} start their broker, actors and learners as {@link ChildJvm}s). The
 * parent stops its children from an exit hook, which SIGKILL and the OOM killer never run: without
 * this watch a broker would go on holding its ports and actors spinning, for ever. The launcher
 * gives its pid in {@link ChildJvm#PARENT_PID}; once that process is gone the child stops as
 * SIGTERM would stop it (exit code {@link #STOPPED}), its own exit hooks closing its broker and
 * consumers. A command a user starts has no such variable and nothing is watched.
 */
final class ParentWatch {
  /** The exit code of a JVM SIGTERM stops, 128 + 15, as {@code rlhf --help} lists it. */
  static final int STOPPED = 128 + 15;

  private static volatile boolean fired;

  private ParentWatch() {}

  /** Whether this JVM is stopping because its parent is gone (not for a signal of its own). */
  static boolean fired() {
    return fired;
  }

  /**
   * Watches the parent {@link ChildJvm#PARENT_PID} names, if any (a value that is no pid is ignored
   * with one line on {@code err}): when it is gone, now or later, prints one line and exits.
   *
   * @param args the command line, whose first word names the command in that line
   */
  static void start(String[] args, PrintStream err) {
    var pid = parentPid(System.getenv(ChildJvm.PARENT_PID), err);
    if (pid.isEmpty()) return;
    var command = args.length == 0 || args[0].startsWith("-") ? "rlhf" : "rlhf " + args[0];
    var parent = alive(pid.getAsLong());
    if (parent.isEmpty()) { // gone before this JVM looked: start nothing
      gone(command, pid.getAsLong(), err);
      return;
    }
    var watch =
        new Thread(
            () -> {
              parent.get().onExit().join();
              gone(command, pid.getAsLong(), err);
            },
            "rlhf-parent-watch");
    watch.setDaemon(true);
    watch.start();
  }

  /**
   * The pid in the variable's value; empty when it is unset or empty (silently), or when it is no
   * pid (with one line on {@code err}: the launcher that set it is at fault, not the command).
   */
  static OptionalLong parentPid(String value, PrintStream err) {
    if (value == null || value.isEmpty()) return OptionalLong.empty();
    long pid;
    try {
      pid = Long.parseLong(value);
    } catch (NumberFormatException e) {
      pid = 0;
    }
    if (pid > 0) return OptionalLong.of(pid);
    err.println(
        "rlhf: ignoring "
            + ChildJvm.PARENT_PID
            + "="
            + value
            + ": not a process id, so no parent process is watched");
    err.flush();
    return OptionalLong.empty();
  }

  /**
   * The process {@code pid} while it runs; empty when it is gone, or when the pid was given to a
   * process started after this one (the parent died, and its pid was reused, before we looked).
   */
  private static Optional<ProcessHandle> alive(long pid) {
    var self = ProcessHandle.current().info().startInstant();
    return ProcessHandle.of(pid)
        .filter(
            p -> {
              var started = p.info().startInstant();
              return self.isEmpty() || started.isEmpty() || !started.get().isAfter(self.get());
            });
  }

  private static void gone(String command, long pid, PrintStream err) {
    fired = true;
    err.println(
        command
            + ": its parent process (pid "
            + pid
            + ") is gone; stopping as SIGTERM would (exit code "
            + STOPPED
            + ")");
    err.flush();
    System.exit(STOPPED);
  }
}
