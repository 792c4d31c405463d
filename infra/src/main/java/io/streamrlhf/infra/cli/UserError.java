package io.streamrlhf.infra.cli;

/** A mistake the user can fix (bad file, bad value): printed as one line, exit code 2. */
public final class UserError extends RuntimeException {
  public UserError(String message) {
    super(message);
  }

  public UserError(String message, Throwable cause) {
    super(message, cause);
  }
}
