package io.streamrlhf.infra.cli;

import io.streamrlhf.infra.chaos.ChaosRun;
import io.streamrlhf.infra.exit.ExitHooks;
import java.io.IOException;
import java.nio.file.Path;

/** Temporary directories a command makes and removes, even when a signal stops it. */
final class TemporaryDirectories {
  private static final int ATTEMPTS = 5;
  private static final long RETRY_AFTER_MS = 500;

  private TemporaryDirectories() {}

  /**
   * Deletes {@code dir} when the returned action runs and, should a signal end the JVM first (a
   * finally block does not run then), at its exit: a stopped command leaves nothing behind.
   *
   * @param command the command named when the deletion fails
   */
  static Runnable removedAtExit(Path dir, String command) {
    Runnable delete =
        () -> {
          // at a signal the child processes writing there are killed by their own hooks at the
          // same time: a file they still write can make a pass fail, so a few more are tried
          Exception failed = null;
          for (int attempt = 0; attempt < ATTEMPTS; attempt++) {
            try {
              ChaosRun.deleteTree(dir);
              return;
            } catch (IOException | java.io.UncheckedIOException e) {
              failed = e;
              try {
                Thread.sleep(RETRY_AFTER_MS);
              } catch (InterruptedException interrupted) {
                Thread.currentThread().interrupt();
                break;
              }
            }
          }
          System.err.println(command + ": could not delete " + dir + ": " + failed.getMessage());
        };
    var hook = new Thread(delete, "rlhf-" + command.replace(' ', '-') + "-cleanup");
    Runtime.getRuntime().addShutdownHook(hook);
    return () -> {
      if (ExitHooks.remove(hook)) delete.run(); // else a signal came: the hook deletes
    };
  }
}
