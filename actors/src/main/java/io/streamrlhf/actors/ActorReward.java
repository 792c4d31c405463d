package io.streamrlhf.actors;

import io.streamrlhf.model.Gpt;
import io.streamrlhf.model.RewardFunction;
import io.streamrlhf.model.RewardModel;
import java.util.function.Function;

/**
 * What a rollout actor scores with, and whether that changes while it runs. Reward models that keep
 * learning arrive on {@code rlhf.reward-weights} like policies on {@code rlhf.policy-weights}; the
 * actor swaps to a newer version only between batches and stamps every rollout with the version
 * that scored it and that version's {@link RewardScale} (PPO normalises each score with the
 * statistics of the version that produced it).
 */
public sealed interface ActorReward {
  /** Whether the actor follows {@code rlhf.reward-weights}. */
  boolean followsPublishedVersions();

  /**
   * A reward that never changes: the oracle (the gold reward) or a test's fixed function. Rollouts
   * say version 0 and carry no statistics (the learner's own).
   */
  record Fixed(Function<Gpt, RewardFunction> load) implements ActorReward {
    @Override
    public boolean followsPublishedVersions() {
      return false;
    }
  }

  /**
   * A reward model from an offline checkpoint ({@code rlhf reward}) as version 0, with the
   * statistics stored beside it; newer versions a reward trainer publishes replace it.
   *
   * @param load the reward model, given the actor's frozen SFT reference (its likelihood term)
   */
  record Offline(Function<Gpt, RewardModel> load, RewardScale scale) implements ActorReward {
    @Override
    public boolean followsPublishedVersions() {
      return true;
    }
  }

  /**
   * No reward model until the reward trainer publishes version 0 (reward source {@code live}, the
   * cold start): the actor samples nothing before it holds one.
   */
  record Live() implements ActorReward {
    @Override
    public boolean followsPublishedVersions() {
      return true;
    }
  }
}
