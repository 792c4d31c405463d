package io.streamrlhf.actors.gateway;

/**
 * A request the gateway refuses, with the HTTP status and the one-line reason the client sees. The
 * reason says what to fix; nothing else of the failure (no class name, no stack trace) leaves the
 * gateway.
 */
final class Rejection extends RuntimeException {
  private final int status;

  Rejection(int status, String reason) {
    super(reason, null, false, false); // a user's mistake: no stack trace to fill, none to leak
    this.status = status;
  }

  static Rejection badRequest(String reason) {
    return new Rejection(400, reason);
  }

  int status() {
    return status;
  }

  String reason() {
    return getMessage();
  }
}
