package io.streamrlhf.infra.exit;

/**
 * The JVM's exit hooks as the commands use them: a hook guards a run against a signal and is
 * removed when the run ends by itself. Once a signal has come, the JVM refuses both adding and
 * removing hooks; that refusal is how a command learns it is being stopped.
 */
public final class ExitHooks {
  private ExitHooks() {}

  /**
   * Removes {@code hook}: true when it will not run, false when the JVM is already exiting (the
   * hook runs, or has run).
   */
  public static boolean remove(Thread hook) {
    try {
      Runtime.getRuntime().removeShutdownHook(hook);
      return true;
    } catch (IllegalStateException exiting) {
      return false;
    }
  }

  /** Whether the JVM is running its exit hooks (a signal, or System.exit elsewhere). */
  public static boolean exiting() {
    var probe = new Thread(() -> {});
    try {
      Runtime.getRuntime().addShutdownHook(probe);
    } catch (IllegalStateException exiting) {
      return true;
    }
    return !remove(probe);
  }
}
