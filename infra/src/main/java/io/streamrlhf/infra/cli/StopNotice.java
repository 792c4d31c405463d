package io.streamrlhf.infra.cli;

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
    var hook =
        new Thread(
            () -> {
              err.println("rlhf " + command + ": stopped; " + whereFrom(out, unit));
              err.flush();
            },
            "rlhf-" + command + "-stop-notice");
    Runtime.getRuntime().addShutdownHook(hook);
    return new StopNotice(hook);
  }

  private static String whereFrom(Path out, String unit) {
    long step;
    try {
      step = Checkpoint.exists(out) ? Checkpoint.trainState(out, TrainState.class).step() : -1;
    } catch (Exception e) { // read while the run was switching checkpoints: say what is certain
      return out + " holds its checkpoints: the same command with --resume continues from the last";
    }
    if (step < 0) return out + " holds no checkpoint yet: run the command again to start afresh";
    // the run goes on while shutdown hooks run: it may finish writing the next one
    return out
        + " holds the checkpoint of "
        + unit
        + " "
        + step
        + " (or a later one, written as it stopped): the same command with --resume continues"
        + " from the last";
  }

  @Override
  public void close() {
    try {
      Runtime.getRuntime().removeShutdownHook(hook);
    } catch (IllegalStateException shuttingDown) {
      // a signal came as the run ended: the notice prints, and the checkpoint it names is the last
    }
  }
}
