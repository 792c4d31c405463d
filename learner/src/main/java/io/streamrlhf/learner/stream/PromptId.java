package io.streamrlhf.learner.stream;

import java.util.Optional;

/**
 * The id the learner gives each prompt it publishes, {@code <run>:<batch>:<index>}: actors treat it
 * as opaque and copy it into their rollouts; the learner reads back which run, batch and position a
 * rollout answers, to order a batch and to recognise a rollout it has already consumed.
 *
 * @param run the run's id, so rollouts of another run on the same topics are not mistaken for ours
 * @param batch the prompt batch (batch b is what the in-process stage samples at update b)
 * @param index the prompt's position in its batch
 */
public record PromptId(String run, long batch, int index) {
  public PromptId {
    if (run.contains(":"))
      throw new IllegalArgumentException("a run id may not contain ':', got " + run);
  }

  @Override
  public String toString() {
    return run + ":" + batch + ":" + index;
  }

  /** The id's parts, or empty when it is not an id the learner wrote. */
  public static Optional<PromptId> parse(String id) {
    var parts = id.split(":", -1);
    if (parts.length != 3) return Optional.empty();
    try {
      return Optional.of(
          new PromptId(parts[0], Long.parseLong(parts[1]), Integer.parseInt(parts[2])));
    } catch (RuntimeException e) {
      return Optional.empty();
    }
  }
}
