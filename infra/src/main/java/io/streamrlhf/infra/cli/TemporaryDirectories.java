package io.streamrlhf.infra.cli;

import io.streamrlhf.infra.chaos.ChaosRun;
import java.io.IOException;
import java.nio.file.Path;

/** Temporary directories a command makes and removes, even when a signal stops it. */
final class TemporaryDirectories {
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
          try {
            ChaosRun.deleteTree(dir);
          } catch (IOException e) {
            System.err.println(command + ": could not delete " + dir + ": " + e.getMessage());
          }
        };
    var hook = new Thread(delete, "rlhf-" + command.replace(' ', '-') + "-cleanup");
    Runtime.getRuntime().addShutdownHook(hook);
    return () -> {
      try {
        Runtime.getRuntime().removeShutdownHook(hook);
      } catch (IllegalStateException shuttingDown) {
        return; // the hook runs
      }
      delete.run();
    };
  }
}
