package io.streamrlhf.learner.config;

import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The settings of one training stage: a record of hyper-parameters whose defaults live in its
 * {@code defaults()} and nowhere else, with the optimizer's nested under {@code optimizer}. Keys
 * are the record components in snake_case ({@code optimizer.learning_rate}); batch sizes say their
 * unit ({@code prompts_per_batch}). Built by {@link ConfigLoader} from the defaults, an optional
 * config file and {@code --set} overrides.
 */
public sealed interface StageConfig
    permits PretrainConfig, SftConfig, RewardConfig, PpoConfig, OnlineRewardConfig {
  /** The stage's CLI name: pretrain, sft, reward, ppo, reward-trainer. */
  String stageName();

  /** Sizes that follow from the settings, printed at start so the user sees what a run costs. */
  Map<String, Object> derivedSizes();

  /**
   * How long a run is: it ends after {@code steps} optimizer steps (PPO: updates), which the
   * setting {@code key} = {@code value} makes.
   */
  record Length(String key, long value, long steps) {}

  /** The run's length, or empty for a stage that runs until it is stopped (reward-trainer). */
  Optional<Length> length();

  /** The AdamW settings and learning-rate schedule, nested under {@code optimizer}. */
  OptimizerConfig optimizer();

  /**
   * Keys that define the run's model or data: a resumed run must keep them, or its weights would
   * not fit the model or it would go on from another run's position. (PPO checks its own with
   * {@code RunIdentity}.)
   */
  default List<String> keptOnResume() {
    return List.of();
  }

  /** C(K,2). */
  static int pairsOf(int k) {
    return k * (k - 1) / 2;
  }

  /** Fails with a one-line message naming the key, for the compact constructors. */
  static void require(boolean ok, String key, String rule, Object value) {
    if (!ok) throw new IllegalArgumentException(key + " must be " + rule + ", got " + value);
  }
}
