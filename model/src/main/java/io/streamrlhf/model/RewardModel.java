package io.streamrlhf.model;

import ai.djl.ndarray.NDArray;

/**
 * The reward PPO optimises: the reward model's scalar head at the last token, r_θ(x, y) of
 * InstructGPT §3.5, trained alone on the labelers' comparisons; plus, when {@code likelihoodWeight}
 * is not 0, that weight times the response's log-likelihood under the SFT model, log π_SFT(y | x).
 * The reward stage fits the weight after training the head (a one- parameter Bradley-Terry fit on
 * the same comparisons) and stores it with the checkpoint, so every reader scores alike; {@code
 * sft} is the frozen SFT model the reader already holds (PPO's reference), never trained and never
 * closed here. A reward-stage checkpoint loads as one with {@code Checkpoint.loadRewardModel}.
 */
public record RewardModel(Gpt model, Gpt sft, double likelihoodWeight) implements RewardFunction {
  public RewardModel {
    if (likelihoodWeight != 0 && sft == null) {
      throw new IllegalArgumentException("a likelihood term needs the SFT model to read it from");
    }
  }

  /** The scalar head alone, as InstructGPT's reward model. */
  public static RewardModel headOnly(Gpt model) {
    return new RewardModel(model, null, 0);
  }

  @Override
  public NDArray scores(ScoringBatch batch) {
    return likelihoodWeight == 0
        ? model.rewardScores(batch)
        : scores(batch, sft, sft.score(batch, 1f));
  }

  /**
   * The score with log π_SFT(y|x) summed from {@code atTemperatureOne} when {@code scoredBy} is the
   * SFT model this reward reads: a rollout actor has those log-probs already (the reference's, for
   * the KL), so the likelihood term costs no forward pass of its own.
   */
  @Override
  public NDArray scores(ScoringBatch batch, Gpt scoredBy, Gpt.TokenScores atTemperatureOne) {
    if (likelihoodWeight == 0 || scoredBy != sft) return scores(batch);
    return model
        .rewardScores(batch)
        .add(Scalars.times(Gpt.sequenceLogLikelihood(atTemperatureOne), likelihoodWeight));
  }

  /** The scalar head alone, r_θ without the likelihood term. */
  public NDArray headScores(ScoringBatch batch) {
    return model.rewardScores(batch);
  }

  /** Closes the reward model's weights; the SFT model belongs to the caller. */
  @Override
  public void close() {
    model.close();
  }
}
