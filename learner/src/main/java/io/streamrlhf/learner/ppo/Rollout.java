package io.streamrlhf.learner.ppo;

/**
 * One sampled response with everything the learner needs from the side that sampled it: the tokens,
 * the log-probs it was sampled with, the frozen SFT model's log-probs of the same tokens, and the
 * reward model's raw score. Produced by {@link RolloutSampler} in-process, and later by rollout
 * actors on the other side of Kafka: the learner needs nothing else.
 *
 * @param prompt prompt tokens
 * @param response response tokens (ending with EOS when {@code terminated})
 * @param behaviourLogProbs log π_behav of each response token, as sampled
 * @param refLogProbs log π_SFT of each response token
 * @param rmScore the reward model's raw score r_θ(x, y), before normalisation
 * @param policyVersion the policy weights that sampled it (the learner's update count)
 * @param normalisation the statistics of the reward-model version that scored it, or null for the
 *     learner's own (a reward model that keeps learning changes them version by version)
 * @param tokenVersions the policy version that sampled each response token, non-decreasing from
 *     {@code policyVersion} (the oldest); null: every token by {@code policyVersion}
 */
public record Rollout(
    int[] prompt,
    int[] response,
    float[] behaviourLogProbs,
    float[] refLogProbs,
    double rmScore,
    boolean terminated,
    long policyVersion,
    RewardSource.Normalisation normalisation,
    long[] tokenVersions) {
  public Rollout {
    if (tokenVersions == null) {
      tokenVersions = new long[response.length];
      java.util.Arrays.fill(tokenVersions, policyVersion);
    }
    if (tokenVersions.length != response.length) {
      throw new IllegalArgumentException(
          response.length + " response tokens but " + tokenVersions.length + " token versions");
    }
    if (response.length == 0
        || behaviourLogProbs.length != response.length
        || refLogProbs.length != response.length) {
      throw new IllegalArgumentException(
          "a rollout needs >= 1 response token and one behaviour and one reference "
              + "log-prob per token, got "
              + response.length
              + ", "
              + behaviourLogProbs.length
              + ", "
              + refLogProbs.length);
    }
  }

  /** A rollout sampled by one policy version throughout. */
  public Rollout(
      int[] prompt,
      int[] response,
      float[] behaviourLogProbs,
      float[] refLogProbs,
      double rmScore,
      boolean terminated,
      long policyVersion,
      RewardSource.Normalisation normalisation) {
    this(
        prompt,
        response,
        behaviourLogProbs,
        refLogProbs,
        rmScore,
        terminated,
        policyVersion,
        normalisation,
        null);
  }

  /** A rollout normalised with the learner's own statistics. */
  public Rollout(
      int[] prompt,
      int[] response,
      float[] behaviourLogProbs,
      float[] refLogProbs,
      double rmScore,
      boolean terminated,
      long policyVersion) {
    this(
        prompt, response, behaviourLogProbs, refLogProbs, rmScore, terminated, policyVersion, null);
  }

  /** Prompt plus response tokens: what a minibatch's token budget counts. */
  public int tokens() {
    return prompt.length + response.length;
  }
}
