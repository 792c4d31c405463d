package io.streamrlhf.learner.train;

/**
 * Input a user gave that a run cannot use (a checkpoint of another shape or kind, a cluster that
 * holds another run): a one-line message to act on. The CLI reports it as the user's mistake (exit
 * code 2); an {@link IllegalArgumentException} stays an internal failure.
 */
public final class InputError extends RuntimeException {
  public InputError(String message) {
    super(message);
  }
}
