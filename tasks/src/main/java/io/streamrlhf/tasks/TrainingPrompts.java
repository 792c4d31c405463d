package io.streamrlhf.tasks;

/**
 * An endless stream of training tasks (PPO prompts, label requests, demonstrations, and the
 * corpus's instruction lines), from a seed: families uniform, color and insult only about the
 * training objects and names, and any prompt that is in the {@link EvalSet} drawn again.
 */
public final class TrainingPrompts {
  private final SplitMix64 rng;

  /** PPO prompts and label requests: the stream named "prompts" under {@code seed}. */
  public TrainingPrompts(long seed) {
    this(SplitMix64.stream(seed, "prompts"));
  }

  /** Draws from a stream the caller owns (the corpus and demonstrations share theirs). */
  TrainingPrompts(SplitMix64 rng) {
    this.rng = rng;
  }

  /** A task of a uniformly drawn family. */
  public Task next() {
    return next(Family.values()[rng.nextInt(Family.values().length)]);
  }

  /** A task of {@code family}. */
  public Task next(Family family) {
    while (true) {
      var task = family.draw(rng, Split.TRAIN);
      if (!EvalSet.contains(task.instruction())) {
        return task;
      }
    }
  }
}
