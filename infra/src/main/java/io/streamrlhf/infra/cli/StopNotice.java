package io.streamrlhf.infra.cli;

import io.streamrlhf.infra.exit.ExitHooks;
import io.streamrlhf.learner.train.TrainState;
import io.streamrlhf.model.checkpoint.Checkpoint;
import java.io.PrintWriter;
import java.nio.file.Path;

/**
 * What a training command ({@code pretrain}, {@code sft}, {@code reward}, {@code ppo}, {@code
 * learner}) prints when a signal (Ctrl-C, SIGTERM) stops it: where the run can go on from. Without
 * it the process ended with exit code 130 or 143 and not a word. Registered as a shutdown hook
 * while the run trains; closing it (the run ended on its own, or failed and says why) removes the
 * hook.
 */
final class StopNotice implements AutoCloseable {
  private static final String RESUME = "the same command with --resume";

  /** How a stopped stage goes on: by --resume, or, inside the demo, by the demo run again. */
  private static volatile String goesOnBy = RESUME;

  private final Thread hook;

  private StopNotice(Thread hook) {
    this.hook = hook;
  }

  /**
   * From now until {@link #close}, a stop by a signal prints {@code rlhf COMMAND: stopped; ...}.
   */
  static StopNotice register(String command, Path out, PrintWriter err) {
    return register(command, out, err, "step");
  }

  /**
   * As {@link #register(String, Path, PrintWriter)}, naming a checkpoint's step as {@code unit}.
   */
  static StopNotice register(String command, Path out, PrintWriter err, String unit) {
    return register(command, err, () -> whereFrom(out, unit));
  }

  /**
   * A live run's ({@code ppo --reward live} with its own broker): it cannot be continued, and the
   * rankings made in it were on the broker that goes with the process.
   */
  static StopNotice registerLive(String command, Path out, Path rmOut, PrintWriter err) {
    return register(
        command,
        err,
        () ->
            out
                + " holds "
                + held(out, "the policy of update ")
                + (rmOut == null
                    ? ""
                    : ", " + rmOut + " " + held(rmOut, "the reward model of step "))
                + " (or later ones, written as it stopped); a live run cannot be continued, and the"
                + " rankings made in it were on its own broker, gone with it");
  }

  private static StopNotice register(
      String command, PrintWriter err, java.util.function.Supplier<String> where) {
    var hook =
        new Thread(
            () -> {
              err.println("rlhf " + command + ": stopped; " + where.get());
              err.flush();
            },
            "rlhf-" + command + "-stop-notice");
    Runtime.getRuntime().addShutdownHook(hook);
    return new StopNotice(hook);
  }

  /**
   * Until the returned handle closes, the notices of the stages run in this JVM say that {@code
   * how} continues them (the demo runs its stages in-process, and has no --resume).
   */
  static Scope goOnBy(String how) {
    var before = goesOnBy;
    goesOnBy = how;
    return () -> {
      // a signal's notice may still be printing: it keeps the words of the run it stopped
      if (!ExitHooks.exiting()) goesOnBy = before;
    };
  }

  /** A setting in force until closed. */
  interface Scope extends AutoCloseable {
    @Override
    void close();
  }

  /** "{@code what} N" for the step {@code dir}'s checkpoint names, or "no checkpoint yet". */
  private static String held(Path dir, String what) {
    var step = step(dir);
    return step.equals("none") ? "no checkpoint yet" : what + step;
  }

  /** The step {@code dir}'s checkpoint pointer names (as the dashboard reads it), or "none". */
  private static String step(Path dir) {
    try {
      return java.nio.file.Files.isRegularFile(dir.resolve(Checkpoint.LATEST))
          ? String.valueOf(Checkpoint.latest(dir).step())
          : "none";
    } catch (Exception e) { // read as the run replaced it
      return "(being written)";
    }
  }

  static String whereFrom(Path out, String unit) {
    long step;
    try {
      step = Checkpoint.exists(out) ? Checkpoint.trainState(out, TrainState.class).step() : -1;
    } catch (Exception e) { // read while the run was switching checkpoints: say what is certain
      return out + " holds its checkpoints: " + goesOnBy + " continues from the last";
    }
    if (step < 0) return out + " holds no checkpoint yet: run the command again to start afresh";
    // the run goes on while shutdown hooks run: it may finish writing the next one
    return out
        + " holds the checkpoint of "
        + unit
        + " "
        + step
        + " (or a later one, written as it stopped): "
        + goesOnBy
        + " continues from the last";
  }

  @Override
  public void close() {
    // false when a signal came as the run ended: the notice prints, and the checkpoint it names
    // is the last
    ExitHooks.remove(hook);
  }
}
