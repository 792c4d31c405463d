package io.streamrlhf.infra.cli;

import io.streamrlhf.actors.VerticleFailure;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * How a serving process ({@code rlhf actor}, {@code rlhf labelers}, {@code rlhf gateway}) ends, so
 * that a supervisor (systemd, Kubernetes, a shell loop) can restart it: Ctrl-C or SIGTERM stops its
 * verticles (a shutdown hook) and the JVM exits as the signal ends a process (130, 143); when one
 * of them fails on its own, it prints one line naming the verticle and the cause (then the stack
 * trace, for an internal failure), stops the rest, closing their Kafka clients, and exits 1, or 2
 * for the user's mistake that a restart would repeat (an actor scoring otherwise than its learner,
 * a Kafka login or permission refused). A stop that hangs does not keep a failed process alive: it
 * halts after {@link #STOP_BOUND}.
 */
final class Serving {
  static final Duration STOP_BOUND = Duration.ofSeconds(90);

  private Serving() {}

  /**
   * Registers {@code stop} as the shutdown hook and waits until {@code ended}; returns the exit
   * code.
   *
   * @param ended completes when the process's verticles stopped; exceptionally when one failed
   * @param stop stops them all, closing their Kafka clients
   */
  static int until(String name, CompletableFuture<Void> ended, Runnable stop, PrintWriter err) {
    var once = once(stop);
    Runtime.getRuntime().addShutdownHook(new Thread(once, "rlhf-" + name + "-shutdown"));
    return await(name, ended, once, err);
  }

  /** {@link #until} without the shutdown hook: waits, and on a failure reports and stops. */
  static int await(String name, CompletableFuture<Void> ended, Runnable stop, PrintWriter err) {
    try {
      ended.get();
      return 0;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return UserErrors.INTERNAL;
    } catch (ExecutionException e) {
      var failure = e.getCause();
      // a login or a permission the cluster refused: a restart with the same file fails the same
      // way
      var refused = UserErrors.kafkaRefusal(failure);
      synchronized (err) {
        if (refused != null) {
          var who = failure instanceof VerticleFailure v ? v.verticle() + ": " : "";
          err.println("rlhf " + name + ": " + who + refused);
        } else {
          err.println("rlhf " + name + ": " + failure.getMessage());
        }
        if (refused == null && (!(failure instanceof VerticleFailure v) || v.internal())) {
          (failure instanceof VerticleFailure ? failure.getCause() : failure).printStackTrace(err);
        }
        err.flush();
      }
      var watchdog = haltAfter(STOP_BOUND, name, err);
      try {
        stop.run();
      } finally {
        watchdog.interrupt();
      }
      return refused != null || (failure instanceof VerticleFailure v && v.usersMistake())
          ? UserErrors.USAGE
          : UserErrors.INTERNAL;
    }
  }

  private static Runnable once(Runnable stop) {
    var done = new AtomicBoolean();
    return () -> {
      if (done.compareAndSet(false, true)) stop.run();
    };
  }

  /**
   * A watchdog, until interrupted: a failed process whose stop hangs (a JVM after an
   * OutOfMemoryError may) still ends.
   */
  private static Thread haltAfter(Duration bound, String name, PrintWriter err) {
    var watchdog =
        new Thread(
            () -> {
              try {
                Thread.sleep(bound.toMillis()); // a deadline, not a synchronisation
              } catch (InterruptedException e) {
                return;
              }
              err.println(
                  "rlhf " + name + ": did not stop within " + bound.toSeconds() + " s; halting");
              err.flush();
              Runtime.getRuntime().halt(UserErrors.INTERNAL);
            },
            "rlhf-" + name + "-stop-watchdog");
    watchdog.setDaemon(true);
    watchdog.start();
    return watchdog;
  }
}
