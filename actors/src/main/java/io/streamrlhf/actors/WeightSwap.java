package io.streamrlhf.actors;

/**
 * When a rollout actor applies a new policy version (DESIGN.md, "In-flight weight swaps").
 *
 * <p>{@link #BETWEEN_BATCHES}: a batch is sampled by one version throughout; a version that arrives
 * mid-batch waits for the batch to end. {@link #IN_FLIGHT} (PipelineRL, Piché et al. 2025): the
 * actor loads it between two decode steps and carries on with the KV cache it has, so every token
 * after the swap is sampled by the newer weights; each token is tagged with its version, and the
 * rollout's policyVersion stays the oldest.
 */
public enum WeightSwap {
  BETWEEN_BATCHES("between-batches"),
  IN_FLIGHT("in-flight");

  /**
   * Between batches. With prompts of batch b published at learner version b − max_lag, an actor
   * samples a batch as soon as its prompts arrive and is then idle until the next version, so on
   * this project's short demo answers an in-flight swap almost never happens (none in 20 batches of
   * the demo's SFT model, 4 in 12 of its base model) and moved neither lag nor gold score, while
   * loading weights on the single-threaded decode path. In flight pays when generations are long
   * and actors always busy (PipelineRL's setting): {@code --swap in-flight}.
   */
  public static final WeightSwap DEFAULT = BETWEEN_BATCHES;

  private final String flag;

  WeightSwap(String flag) {
    this.flag = flag;
  }

  /** As the command line spells it. */
  public String flag() {
    return flag;
  }

  /** The mode {@code flag} names ("between-batches" or "in-flight"). */
  public static WeightSwap of(String flag) {
    for (var mode : values()) if (mode.flag.equals(flag)) return mode;
    throw new IllegalArgumentException(
        "--swap is between-batches or in-flight, got \"" + flag + "\"");
  }

  @Override
  public String toString() {
    return flag;
  }
}
