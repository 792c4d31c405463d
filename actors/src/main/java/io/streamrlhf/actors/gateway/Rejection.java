package io.streamrlhf.actors.gateway;

/**
 * A request the gateway refuses, with the HTTP status and the one-line reason the client sees. The
 * reason says what to fix; nothing else of the failure (no class name, no stack trace) leaves the
 * gateway.
 */
final class Rejection extends RuntimeException {
  private final int status;
  private final long retryAfterSeconds;

  Rejection(int status, String reason) {
    this(status, reason, 0);
  }

  private Rejection(int status, String reason, long retryAfterSeconds) {
    super(reason, null, false, false); // a user's mistake: no stack trace to fill, none to leak
    this.status = status;
    this.retryAfterSeconds = retryAfterSeconds;
  }

  static Rejection badRequest(String reason) {
    return new Rejection(400, reason);
  }

  /**
   * A refusal the same call may overcome later (a limit, a gateway catching up, a broker slow to
   * acknowledge): it carries {@code Retry-After}, which a refusal that no retry mends does not.
   */
  static Rejection retryLater(int status, long seconds, String reason) {
    return new Rejection(status, reason, Math.max(1, seconds));
  }

  int status() {
    return status;
  }

  /** The seconds of {@code Retry-After}, or 0 when retrying is no use. */
  long retryAfterSeconds() {
    return retryAfterSeconds;
  }

  String reason() {
    return getMessage();
  }
}
