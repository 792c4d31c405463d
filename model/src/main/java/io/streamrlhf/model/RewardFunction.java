package io.streamrlhf.model;

import ai.djl.ndarray.NDArray;

/**
 * The score of each prompt + response of a batch, [B], in the batch's manager: a {@link
 * RewardModel} in the pipeline, the oracle for gold-reward PPO, any fixed function of the tokens in
 * tests. Closing it releases what it holds (a reward model's weights).
 */
@FunctionalInterface
public interface RewardFunction extends AutoCloseable {
  NDArray scores(ScoringBatch batch);

  /**
   * {@link #scores(ScoringBatch)} for a caller that has already scored {@code batch} under {@code
   * scoredBy} at temperature 1 ({@code atTemperatureOne}): a reward that reads that model's
   * likelihood takes it from there instead of a second forward pass. The same numbers either way;
   * the default ignores them.
   */
  default NDArray scores(ScoringBatch batch, Gpt scoredBy, Gpt.TokenScores atTemperatureOne) {
    return scores(batch);
  }

  @Override
  default void close() {}
}
