package io.streamrlhf.learner.ppo;

import io.streamrlhf.model.Generator;
import io.streamrlhf.model.Gpt;
import io.streamrlhf.model.RewardFunction;
import io.streamrlhf.model.RolloutGenerator;
import java.util.ArrayList;
import java.util.List;

/**
 * The in-process rollout side of PPO: {@link RolloutGenerator} (in {@code model}, shared with the
 * rollout actors, so there is one copy of the sampling and scoring) turned into a {@link
 * RolloutBatch} stamped with the policy version. Never computes a gradient and never writes a
 * weight.
 */
public final class RolloutSampler {
  private final RolloutGenerator generator;

  public RolloutSampler(
      Gpt policy, Gpt reference, RewardFunction reward, int maxNewTokens, double temperature) {
    this.generator = new RolloutGenerator(policy, reference, reward, maxNewTokens, temperature);
  }

  /**
   * {@code responsesPerPrompt} responses to each prompt, in prompt order.
   *
   * @param seed the batch's seed; prompt i samples with {@link RolloutGenerator#promptSeeds}[i]
   * @param policyVersion stamped on every rollout
   */
  public RolloutBatch sample(
      List<int[]> prompts, int responsesPerPrompt, long seed, long policyVersion) {
    var samples =
        generator.sample(
            prompts, responsesPerPrompt, seed, Generator.Versions.fixed(policyVersion));
    var rollouts = new ArrayList<Rollout>(samples.size());
    for (var s : samples) rollouts.add(of(s, policyVersion));
    return new RolloutBatch(rollouts);
  }

  /** A generated sample as the learner's rollout. */
  public static Rollout of(RolloutGenerator.Sample s, long policyVersion) {
    return new Rollout(
        s.prompt(),
        s.response(),
        s.behaviourLogProbs(),
        s.refLogProbs(),
        s.rmScore(),
        s.terminated(),
        policyVersion,
        null,
        s.tokenVersions());
  }
}
