package io.streamrlhf.actors;

/**
 * An actor that samples or scores otherwise than its learner (another reward source, SFT model,
 * reward model, responses per prompt or sampling temperature) refusing the learner's policy: the
 * user's mistake, which a restart with the same flags repeats, so a serving process exits 2 for it,
 * the usage-mistake code, rather than the 1 of a failure (a supervisor can be told not to restart
 * on 2: systemd's RestartPreventExitStatus).
 */
public final class LearnerMismatch extends IllegalStateException {
  public LearnerMismatch(String message) {
    super(message);
  }
}
