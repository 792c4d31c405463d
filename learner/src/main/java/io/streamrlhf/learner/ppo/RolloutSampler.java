package io.streamrlhf.learner.ppo;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.streamrlhf.model.Gpt;
import io.streamrlhf.model.ScoringBatch;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The rollout side of PPO: samples responses from the policy (KV-cache generation, keeping the
 * behaviour log-probs), scores them under the frozen SFT reference and the reward model, and
 * returns a {@link RolloutBatch}. Never computes a gradient and never writes a weight, so a rollout
 * actor can run it on its own copies of the three models.
 */
public final class RolloutSampler {
  /** Reference log-probs [B × width] row-major and RM scores [B] of one batch. */
  private record Scored(float[] refLogProbs, float[] rmScores, int responseWidth) {}

  private final Gpt policy;
  private final Gpt reference;
  private final RewardFunction reward;
  private final int maxNewTokens;
  private final float temperature;

  /**
   * The score of each prompt + response of a batch, [B]: the reward model's {@link Gpt#rewardScores}
   * in the pipeline; any fixed function of the tokens in tests.
   */
  @FunctionalInterface
  public interface RewardFunction {
    NDArray scores(ScoringBatch batch);
  }

  public RolloutSampler(Gpt policy, Gpt reference, Gpt rewardModel, int maxNewTokens, double temperature) {
    this(policy, reference, rewardModel::rewardScores, maxNewTokens, temperature);
  }

  public RolloutSampler(Gpt policy, Gpt reference, RewardFunction reward, int maxNewTokens, double temperature) {
    this.policy = policy;
    this.reference = reference;
    this.reward = reward;
    this.maxNewTokens = maxNewTokens;
    this.temperature = (float) temperature;
  }

  /**
   * {@code responsesPerPrompt} responses to each prompt, in prompt order.
   *
   * @param seed the sampling stream of this batch
   * @param policyVersion stamped on every rollout
   */
  public RolloutBatch sample(List<int[]> prompts, int responsesPerPrompt, long seed, long policyVersion) {
    var rows = new ArrayList<int[]>(prompts.size() * responsesPerPrompt);
    for (var prompt : prompts) {
      for (int i = 0; i < responsesPerPrompt; i++) rows.add(prompt);
    }
    var completions = policy.generate(rows, new Gpt.Sampling(maxNewTokens, temperature, 0, seed));
    var responses = completions.stream().map(Gpt.Completion::tokens).toList();
    var scored = Gpt.withoutGradient(() -> {
      try (NDManager scope = NDManager.newBaseManager("PyTorch")) {
        var batch = ScoringBatch.of(scope, rows, responses);
        // log π_SFT at the sampling temperature, so the KL compares like with like
        var ref = reference.score(batch, temperature).logProbs().toFloatArray();
        var rm = reward.scores(batch).toType(DataType.FLOAT32, false).toFloatArray();
        return new Scored(ref, rm, batch.responseWidth());
      }
    });
    var refFlat = scored.refLogProbs();
    var rmScores = scored.rmScores();
    int width = scored.responseWidth();
    var rollouts = new ArrayList<Rollout>(rows.size());
    for (int b = 0; b < rows.size(); b++) {
      var completion = completions.get(b);
      int length = completion.tokens().length;
      var refLogProbs = Arrays.copyOfRange(refFlat, b * width, b * width + length);
      rollouts.add(new Rollout(rows.get(b), completion.tokens(), completion.behaviourLogProbs(), refLogProbs,
          rmScores[b], completion.terminated(), policyVersion));
    }
    return new RolloutBatch(rollouts);
  }
}
