package io.streamrlhf.actors;

import io.streamrlhf.schemas.PublishedWeights;
import java.util.Map;

/**
 * A reward-model version's score statistics, as every rollout it scored carries them: PPO computes
 * (score − mean) / std with them, and pays {@code likelihoodWeight}·log π_SFT token by token (the
 * learner's reference shaping). A reward model that keeps learning changes all three version by
 * version, so they travel with the version ({@link PublishedWeights#META_REWARD_MEAN} and its
 * neighbours) and with each rollout, never from a learner's own copy.
 *
 * @param mean mean raw score on SFT samples
 * @param std its standard deviation
 * @param likelihoodWeight w of score = head + w·log π_SFT(y|x)
 */
public record RewardScale(double mean, double std, double likelihoodWeight) {
  /**
   * The statistics in a published reward version's meta, or null when it carries none (its rollouts
   * then say nothing and the learner uses its own).
   *
   * @throws IllegalArgumentException when a value is not a decimal number
   */
  public static RewardScale fromMeta(Map<String, String> meta) {
    var mean = meta.get(PublishedWeights.META_REWARD_MEAN);
    var std = meta.get(PublishedWeights.META_REWARD_STD);
    if (mean == null || std == null) return null;
    return new RewardScale(
        decimal(meta, PublishedWeights.META_REWARD_MEAN),
        decimal(meta, PublishedWeights.META_REWARD_STD),
        likelihoodWeight(meta));
  }

  /** w of the version's score head + w·log π_SFT; 0 (the head alone) when the meta says nothing. */
  public static double likelihoodWeight(Map<String, String> meta) {
    return meta.containsKey(PublishedWeights.META_LIKELIHOOD_WEIGHT)
        ? decimal(meta, PublishedWeights.META_LIKELIHOOD_WEIGHT)
        : 0;
  }

  private static double decimal(Map<String, String> meta, String key) {
    try {
      return Double.parseDouble(meta.get(key));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(
          "reward weights meta " + key + " is not a decimal number: '" + meta.get(key) + "'", e);
    }
  }
}
