package io.streamrlhf.learner.ppo;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.streamrlhf.learner.config.ConfigLoader;
import io.streamrlhf.learner.config.PpoConfig;
import io.streamrlhf.model.ByteTokenizer;
import io.streamrlhf.model.Gpt;
import io.streamrlhf.model.GptConfig;
import io.streamrlhf.model.ScoringBatch;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class PpoLearnerTest {
  private static final GptConfig SHAPE = new GptConfig(ByteTokenizer.VOCAB_SIZE, 32, 32, 2, 4);
  private static final int NEW_TOKENS = 8;

  /**
   * The toy reward: the share of a response's tokens that are ASCII bytes (&lt; 128), about ½ for a
   * random policy.
   */
  private static NDArray asciiShare(ScoringBatch batch) {
    var ascii =
        batch.responseTokens().lt(128).toType(DataType.FLOAT32, false).mul(batch.responseMask());
    return ascii.sum(new int[] {1}).div(batch.responseMask().sum(new int[] {1}));
  }

  private static PpoConfig config(String... overrides) {
    var settings =
        new ArrayList<>(
            List.of(
                "tokens_per_minibatch=80",
                "learning_rate=1e-2",
                "min_learning_rate=1e-2",
                "warmup_steps=0",
                "ptx_coef=0",
                "init_kl_coef=0.02",
                "adaptive_kl=false",
                "value_warmup_updates=0"));
    settings.addAll(List.of(overrides));
    return ConfigLoader.load(PpoConfig.defaults(), null, settings);
  }

  private static List<int[]> prompts(int n) {
    var prompts = new ArrayList<int[]>();
    for (int i = 0; i < n; i++)
      prompts.add(ByteTokenizer.encode("p" + (char) ('a' + i % 26) + "\n"));
    return prompts;
  }

  private static double meanScore(RolloutBatch batch) {
    return batch.rollouts().stream().mapToDouble(Rollout::rmScore).average().orElseThrow();
  }

  @Test
  void fewUpdatesRaiseTheRewardOfThePolicysSamples() {
    var config = config();
    try (var policy = Gpt.create(SHAPE, 11);
        var reference = Gpt.create(SHAPE, 11);
        var learner = new PpoLearner(policy, config, new RewardSource.Normalisation(0.5, 0.2, 0))) {
      var sampler =
          new RolloutSampler(policy, reference, PpoLearnerTest::asciiShare, NEW_TOKENS, 1.0);
      var evalPrompts = prompts(32);
      double before = meanScore(sampler.sample(evalPrompts, 4, 99, 0));
      for (int update = 0; update < 8; update++) {
        var batch = sampler.sample(prompts(16), 2, 1000 + update, update);
        learner.update(batch, config.optimizer().learningRate());
      }
      double after = meanScore(sampler.sample(evalPrompts, 4, 99, 8));
      System.out.printf("PPO toy objective: mean reward %.3f -> %.3f%n", before, after);
      assertThat(before).isBetween(0.35, 0.65);
      assertThat(after).isGreaterThan(before + 0.25).isGreaterThan(0.75);
    }
  }

  /** Every parameter of {@code model} as a flat float array, by name. */
  private static java.util.Map<String, float[]> weights(Gpt model) {
    var out = new java.util.TreeMap<String, float[]>();
    model.parameters().forEach((name, p) -> out.put(name, p.toFloatArray()));
    return out;
  }

  @Test
  void criticWarmUpMovesOnlyTheValueHeadThenThePolicyTrains() {
    var config =
        config("value_warmup_updates=2", "value_head_learning_rate=1e-2", "adaptive_kl=true");
    try (var policy = Gpt.create(SHAPE, 11);
        var reference = Gpt.create(SHAPE, 11);
        var learner = new PpoLearner(policy, config, new RewardSource.Normalisation(0.5, 0.2, 0))) {
      var sampler =
          new RolloutSampler(policy, reference, PpoLearnerTest::asciiShare, NEW_TOKENS, 1.0);
      var start = weights(policy);
      for (int update = 0; update < 2; update++) {
        learner.update(
            sampler.sample(prompts(8), 2, 40 + update, update), config.optimizer().learningRate());
      }
      var warmedUp = weights(policy);
      // KL is 0 while the policy is frozen; the adaptive controller must not read that as room to
      // grow
      assertThat(learner.beta()).isEqualTo(config.initKlCoef());
      for (var name : start.keySet()) {
        if (name.startsWith(Gpt.SCALAR_HEAD)) {
          assertThat(warmedUp.get(name)).as(name).isNotEqualTo(start.get(name));
        } else {
          assertThat(warmedUp.get(name))
              .as(name)
              .isEqualTo(start.get(name)); // the policy is untouched
        }
      }
      learner.update(sampler.sample(prompts(8), 2, 42, 2), config.optimizer().learningRate());
      var trained = weights(policy);
      assertThat(trained.get("h.0.attn.qkv.weight"))
          .isNotEqualTo(warmedUp.get("h.0.attn.qkv.weight"));
      assertThat(trained.get("tok_emb")).isNotEqualTo(warmedUp.get("tok_emb"));
      // the update after the warm-up adapts β: its batch was sampled by the untouched policy (KL 0
      // < target)
      assertThat(learner.beta()).isLessThan(config.initKlCoef());
    }
  }

  @Test
  void minibatchWithNonFiniteGradientIsSkippedAndTheWeightsStay() {
    var config = config();
    try (var policy = Gpt.create(SHAPE, 11);
        var reference = Gpt.create(SHAPE, 11);
        var learner = new PpoLearner(policy, config, new RewardSource.Normalisation(0.5, 0.2, 0))) {
      var sampler =
          new RolloutSampler(policy, reference, PpoLearnerTest::asciiShare, NEW_TOKENS, 1.0);
      var sampled = sampler.sample(prompts(4), 1, 5, 0);
      // A NaN reward-model score makes the advantages, the loss and so every gradient NaN.
      var poisoned =
          new RolloutBatch(
              sampled.rollouts().stream()
                  .map(
                      r ->
                          new Rollout(
                              r.prompt(),
                              r.response(),
                              r.behaviourLogProbs(),
                              r.refLogProbs(),
                              Double.NaN,
                              r.terminated(),
                              r.policyVersion()))
                  .toList());
      var before = policy.snapshot(0).safetensors();
      var stats = learner.update(poisoned, config.optimizer().learningRate());
      assertThat(stats.minibatches()).isZero();
      assertThat(stats.skippedMinibatches())
          .isGreaterThanOrEqualTo(config.epochsPerBatch()); // >= 1 per epoch
      assertThat(policy.snapshot(0).safetensors()).isEqualTo(before);
      // The next healthy batch trains as usual.
      assertThat(learner.update(sampled, config.optimizer().learningRate()).minibatches())
          .isPositive();
      assertThat(policy.snapshot(0).safetensors()).isNotEqualTo(before);
    }
  }

  @Test
  void rolloutToUpdatePathComputesTheLossOfHandAssembledPpoCalls() {
    var config =
        config("ptx_coef=0.5", "entropy_coef=0.01", "value_loss_coef=0.3", "init_kl_coef=0.1");
    double rmMean = 0.4;
    double rmStd = 0.3;
    double likelihoodWeight =
        0.7; // the RM's likelihood term, which the reference shaping pays token by token
    try (var policy = Gpt.create(SHAPE, 5);
        var reference = Gpt.create(SHAPE, 6);
        var stale = Gpt.create(SHAPE, 9); // an actor's older weights: behaviour is not proximal
        var learner =
            new PpoLearner(
                policy, config, new RewardSource.Normalisation(rmMean, rmStd, likelihoodWeight));
        NDManager scope = NDManager.newBaseManager("PyTorch")) {
      var batch =
          new RolloutSampler(stale, reference, PpoLearnerTest::asciiShare, NEW_TOKENS, 1.0)
              .sample(prompts(3), 2, 7, 0);
      var windows = new io.streamrlhf.learner.pretrain.CorpusWindows(1, 16);
      var ptx = List.of(windows.next(), windows.next());
      int[] rows = {4, 0, 2};

      var prepared = learner.prepare(batch);
      var viaLearner = Gpt.withoutGradient(() -> learner.minibatchLoss(scope, prepared, rows, ptx));

      // By hand: the Ppo functions in the order of Ppo.java, on the same rollouts.
      var rollouts = batch.rollouts();
      var all =
          ScoringBatch.of(
              scope,
              rollouts.stream().map(Rollout::prompt).toList(),
              rollouts.stream().map(Rollout::response).toList());
      var before = Gpt.withoutGradient(() -> policy.score(all, 1f));
      int allWidth = all.responseWidth();
      float[] allLogProbs = before.logProbs().toFloatArray();
      float[] allValues = before.values().toFloatArray();
      var advantages = new ArrayList<float[]>();
      var returns = new ArrayList<float[]>();
      var proximal = new ArrayList<float[]>();
      var values = new ArrayList<float[]>();
      for (int b = 0; b < rollouts.size(); b++) {
        var r = rollouts.get(b);
        int n = r.response().length;
        proximal.add(java.util.Arrays.copyOfRange(allLogProbs, b * allWidth, b * allWidth + n));
        values.add(java.util.Arrays.copyOfRange(allValues, b * allWidth, b * allWidth + n));
        double score = (r.rmScore() - rmMean) / rmStd;
        var rewards =
            Ppo.shapedTokenRewards(
                r.behaviourLogProbs(),
                r.refLogProbs(),
                score,
                0.1,
                config.referenceShaping() * likelihoodWeight / rmStd);
        var gae = Ppo.gae(rewards, values.get(b), 1.0, 0.95);
        advantages.add(gae.advantages());
        returns.add(gae.returns());
      }
      var whitened = Ppo.whiten(advantages);
      var picked = new ArrayList<Rollout>();
      var pick =
          (java.util.function.Function<List<float[]>, List<float[]>>)
              list -> {
                var out = new ArrayList<float[]>();
                for (int row : rows) out.add(list.get(row));
                return out;
              };
      for (int row : rows) picked.add(rollouts.get(row));
      var mini =
          ScoringBatch.of(
              scope,
              picked.stream().map(Rollout::prompt).toList(),
              picked.stream().map(Rollout::response).toList());
      int width = mini.responseWidth();
      var scores = Gpt.withoutGradient(() -> policy.score(mini, 1f));
      var behaviour = picked.stream().map(Rollout::behaviourLogProbs).toList();
      var policyLoss =
          Ppo.decoupledPolicyLoss(
              scores.logProbs(),
              Ppo.padded(scope, pick.apply(proximal), width),
              Ppo.padded(scope, behaviour, width),
              Ppo.padded(scope, pick.apply(whitened), width),
              scores.mask(),
              0.2,
              2.0);
      var valueLoss =
          Ppo.valueLoss(
              scores.values(),
              Ppo.padded(scope, pick.apply(values), width),
              Ppo.padded(scope, pick.apply(returns), width),
              scores.mask(),
              0.2);
      var entropy = Ppo.maskedMean(scores.entropy(), scores.mask());
      // pretraining NLL straight from the logits: window token t+1 predicted at position t
      double nll = 0;
      int predicted = 0;
      for (var window : ptx) {
        var tokens =
            scope.create(
                java.util.Arrays.stream(window).asLongStream().toArray(),
                new ai.djl.ndarray.types.Shape(1, window.length));
        var mask = scope.ones(new ai.djl.ndarray.types.Shape(1, window.length), DataType.BOOLEAN);
        var logits =
            Gpt.withoutGradient(() -> policy.forward(tokens, mask))
                .logits()
                .logSoftmax(-1)
                .toFloatArray();
        for (int t = 0; t + 1 < window.length; t++) {
          nll -= logits[t * ByteTokenizer.VOCAB_SIZE + window[t + 1]];
          predicted++;
        }
      }
      double expected =
          policyLoss.loss().getFloat()
              + 0.3 * valueLoss.getFloat()
              - 0.01 * entropy.getFloat()
              + 0.5 * nll / predicted;

      assertThat(viaLearner.policy().loss().getFloat())
          .isCloseTo(policyLoss.loss().getFloat(), org.assertj.core.data.Offset.offset(1e-5f));
      assertThat(viaLearner.value().getFloat())
          .isCloseTo(valueLoss.getFloat(), org.assertj.core.data.Offset.offset(1e-5f));
      assertThat(viaLearner.pretraining().getFloat())
          .isCloseTo((float) (nll / predicted), org.assertj.core.data.Offset.offset(1e-4f));
      assertThat((double) viaLearner.total().getFloat())
          .isCloseTo(expected, org.assertj.core.data.Offset.offset(1e-4));
      // sampled by other weights: the behaviour weight exp(proximal − behaviour) is not 1, so the
      // comparison above tells behaviour from proximal log-probs apart
      assertThat(viaLearner.policy().meanImportanceWeight())
          .isNotCloseTo(1f, org.assertj.core.data.Offset.offset(0.01f));
      assertThat(prepared.beta()).isEqualTo(0.1);
    }
  }

  /**
   * A rollout that carries its reward-model version's statistics is normalised with them, not the
   * learner's: the same batch tagged with (μ, σ, w) trains exactly as a learner built with (μ, σ,
   * w), and not as the learner's own statistics would.
   */
  @Test
  void rolloutsCarryingTheirRewardVersionsStatisticsAreNormalisedWithThem() {
    var config = config("reference_shaping=1");
    var own = new RewardSource.Normalisation(0.5, 0.2, 0.3);
    var versions = new RewardSource.Normalisation(0.1, 0.05, 0.1);
    byte[] tagged;
    byte[] built;
    byte[] untagged;
    try (var reference = Gpt.create(SHAPE, 11)) {
      RolloutBatch batch;
      try (var sampling = Gpt.create(SHAPE, 11)) {
        batch =
            new RolloutSampler(sampling, reference, PpoLearnerTest::asciiShare, NEW_TOKENS, 1.0)
                .sample(prompts(8), 2, 7, 0);
      }
      var withStats =
          new RolloutBatch(
              batch.rollouts().stream()
                  .map(
                      r ->
                          new Rollout(
                              r.prompt(),
                              r.response(),
                              r.behaviourLogProbs(),
                              r.refLogProbs(),
                              r.rmScore(),
                              r.terminated(),
                              r.policyVersion(),
                              versions))
                  .toList());
      tagged = updatedWeights(config, own, withStats);
      built = updatedWeights(config, versions, batch);
      untagged = updatedWeights(config, own, batch);
    }
    assertThat(tagged).isEqualTo(built);
    assertThat(tagged).isNotEqualTo(untagged);
  }

  /**
   * The learner's correction with per-token versions is decoupled PPO exactly when every token is
   * within max_lag: one version throughout, or versions that change mid-response (an in-flight
   * swap) without any token passing the bound, update the weights bit for bit as the untagged
   * rollouts do. A token past the bound changes the update.
   */
  @Test
  void perTokenVersionsWithinMaxLagUpdateExactlyAsDecoupledPpo() {
    var config = config("max_lag=0");
    var own = new RewardSource.Normalisation(0.5, 0.2, 0.3);
    try (var reference = Gpt.create(SHAPE, 11)) {
      RolloutBatch batch;
      try (var sampling = Gpt.create(SHAPE, 11)) {
        batch =
            new RolloutSampler(sampling, reference, PpoLearnerTest::asciiShare, NEW_TOKENS, 1.0)
                .sample(prompts(8), 2, 7, 0);
      }
      assertThat(batch.rollouts().get(0).tokenVersions()).containsOnly(0L);
      // the learner is at v0: v0 tokens lag 0, a v1 token (ahead of it) counts as lag 0 too
      var inFlight = retagged(batch, t -> t < 2 ? 0 : 1);
      var oneVersion = retagged(batch, t -> 0);
      byte[] untagged = updatedWeights(config, own, batch);
      assertThat(updatedWeights(config, own, oneVersion)).isEqualTo(untagged);
      assertThat(updatedWeights(config, own, inFlight)).isEqualTo(untagged);
      // with max_lag 0 at v0, a token of v−1 is past the bound and leaves the policy loss
      var pastTheBound = retagged(batch, t -> t < 2 ? -1 : 0);
      assertThat(updatedWeights(config, own, pastTheBound)).isNotEqualTo(untagged);
    }
  }

  private static RolloutBatch retagged(
      RolloutBatch batch, java.util.function.IntToLongFunction version) {
    return new RolloutBatch(
        batch.rollouts().stream()
            .map(
                r -> {
                  var versions = new long[r.response().length];
                  for (int t = 0; t < versions.length; t++) versions[t] = version.applyAsLong(t);
                  return new Rollout(
                      r.prompt(),
                      r.response(),
                      r.behaviourLogProbs(),
                      r.refLogProbs(),
                      r.rmScore(),
                      r.terminated(),
                      versions[0],
                      null,
                      versions);
                })
            .toList());
  }

  private static byte[] updatedWeights(
      PpoConfig config, RewardSource.Normalisation normalisation, RolloutBatch batch) {
    try (var policy = Gpt.create(SHAPE, 11);
        var learner = new PpoLearner(policy, config, normalisation)) {
      learner.update(batch, config.optimizer().learningRate());
      return policy.snapshot(1).safetensors();
    }
  }
}
