package io.streamrlhf.actors;

/**
 * An actor that scores otherwise than its learner (another reward source, SFT model or reward
 * model) refusing the learner's policy: the user's mistake, which a restart with the same flags
 * repeats, so a serving process exits 2 for it, the usage-mistake code, rather than the 1 of a
 * failure (a supervisor can be told not to restart on 2: systemd's RestartPreventExitStatus).
 */
public final class ScoringMismatch extends IllegalStateException {
  public ScoringMismatch(String message) {
    super(message);
  }
}
