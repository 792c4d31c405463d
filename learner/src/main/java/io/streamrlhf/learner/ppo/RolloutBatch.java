package io.streamrlhf.learner.ppo;

import java.util.List;

/** The rollouts of one PPO batch: what the rollout side hands to {@link PpoLearner#update}. */
public record RolloutBatch(List<Rollout> rollouts) {
  public RolloutBatch {
    if (rollouts.isEmpty())
      throw new IllegalArgumentException("a rollout batch needs at least one rollout");
    rollouts = List.copyOf(rollouts);
  }

  public int size() {
    return rollouts.size();
  }
}
