package io.streamrlhf.actors;

/**
 * An actor that scores otherwise than its learner (another reward source, SFT model or reward
 * model) refusing the learner's policy: the user's mistake, which a restart with the same flags
 * repeats, so a serving process exits 2 for it rather than 1 (a supervisor restarts on 1).
 */
public final class ScoringMismatch extends IllegalStateException {
  public ScoringMismatch(String message) {
    super(message);
  }
}
