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

  @Override
  default void close() {}
}
