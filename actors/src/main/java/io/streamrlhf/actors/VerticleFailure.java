package io.streamrlhf.actors;

import java.io.UncheckedIOException;
import org.apache.kafka.common.KafkaException;

/**
 * Why a verticle of the loop ended on its own: which one, and the throwable that escaped it (any
 * throwable, an {@link Error} included: each verticle hands whatever escapes its handlers to its
 * own failure path through {@code context.exceptionHandler}). Its owner sees it as the exceptional
 * end of the verticle's {@code ended()} future; a process prints {@link #getMessage} as its one
 * line and exits 1 (2 for a {@link LearnerMismatch}), the in-process loop deploys a fresh copy
 * ({@link Supervisor}).
 */
public final class VerticleFailure extends RuntimeException {
  private final String verticle;

  /**
   * @param verticle who failed, as its log lines name it, e.g. {@code actor-0} or {@code actor-0's
   *     policy weight subscriber}
   */
  public VerticleFailure(String verticle, Throwable cause) {
    super(message(verticle, cause), cause);
    this.verticle = verticle;
  }

  /** Who failed. */
  public String verticle() {
    return verticle;
  }

  /**
   * Whether this is a bug or a broken JVM, whose stack trace helps: an {@link Error}, or an
   * exception other than those the loop raises on purpose when it gives up (an {@link
   * IllegalStateException} saying what it waited for, Kafka's own exceptions, failed I/O), whose
   * message says it all.
   */
  public boolean internal() {
    return internal(getCause());
  }

  /** Whether a restart with the same flags would fail the same way: the user's mistake. */
  public boolean usersMistake() {
    return getCause() instanceof LearnerMismatch;
  }

  private static boolean internal(Throwable cause) {
    return !(cause instanceof IllegalStateException
        || cause instanceof KafkaException
        || cause instanceof UncheckedIOException);
  }

  /**
   * One line naming the verticle once: a give-up's own message (prefixed with the verticle unless
   * it starts with it), or "X failed: " and the throwable's type and message.
   */
  private static String message(String verticle, Throwable cause) {
    var own = cause.getMessage() == null ? "" : cause.getMessage().lines().findFirst().orElse("");
    if (internal(cause) || own.isBlank()) {
      var type = cause.getClass().getName();
      return verticle + " failed: " + (own.isBlank() ? type : type + ": " + own);
    }
    return own.startsWith(verticle) ? own : verticle + ": " + own;
  }
}
