package io.streamrlhf.jmh;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import io.streamrlhf.learner.ppo.Ppo;
import io.streamrlhf.model.Gradients;
import io.streamrlhf.model.AdamW;
import io.streamrlhf.model.Gpt;
import io.streamrlhf.model.GptConfig;
import io.streamrlhf.model.ScoringBatch;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The parts of `rlhf bench`'s PPO step on bench-small (16 × (32 + 64) tokens): the no-grad
 * reference forward, the PPO loss forward with its backward, and the AdamW step (global-norm clip
 * included) on the gradients one backward left.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(
    value = 1,
    jvmArgsAppend = {"-Dai.djl.offline=true", "-Xss4m"})
public class PpoStepBench {
  @Param({"2"})
  int threads;

  private Gpt policy;
  private AdamW optimizer;
  private List<int[]> prompts;
  private List<int[]> responses;
  private float[][] oldLogProbs;
  private float[][] advantages;
  private float[][] returns;

  @Setup
  public void setUp() {
    Engines.start(threads);
    policy = Gpt.create(GptConfig.small(), 0);
    optimizer = new AdamW(policy, AdamW.Hyperparameters.defaults());
    prompts = Engines.tokens(1, Engines.BATCH, Engines.PROMPT_TOKENS);
    responses = Engines.tokens(2, Engines.BATCH, Engines.NEW_TOKENS);
    var rng = new SplittableRandom(3);
    oldLogProbs = new float[Engines.BATCH][Engines.NEW_TOKENS];
    advantages = new float[Engines.BATCH][Engines.NEW_TOKENS];
    returns = new float[Engines.BATCH][Engines.NEW_TOKENS];
    for (int i = 0; i < Engines.BATCH; i++) {
      for (int j = 0; j < Engines.NEW_TOKENS; j++) {
        oldLogProbs[i][j] = (float) (rng.nextGaussian() - 5);
        advantages[i][j] = (float) rng.nextGaussian();
        returns[i][j] = (float) rng.nextGaussian();
      }
    }
  }

  @TearDown
  public void tearDown() {
    optimizer.close();
    policy.close();
  }

  @Benchmark
  public float refForward() {
    return Gpt.withoutGradient(
        () -> {
          try (var scope = NDManager.newBaseManager()) {
            return policy
                .score(ScoringBatch.of(scope, prompts, responses), 1f)
                .logProbs()
                .sum()
                .getFloat();
          }
        });
  }

  @Benchmark
  public float lossForwardBackward() {
    return lossForwardBackward(policy, prompts, responses, oldLogProbs, advantages, returns);
  }

  static float lossForwardBackward(
      Gpt policy,
      List<int[]> prompts,
      List<int[]> responses,
      float[][] oldLogProbs,
      float[][] advantages,
      float[][] returns) {
    try (var scope = NDManager.newBaseManager();
        var collector = Gradients.collector()) {
      var batch = ScoringBatch.of(scope, prompts, responses);
      var scored = policy.score(batch, 1f);
      int width = batch.responseWidth();
      var mask = batch.responseMask();
      var policyLoss =
          Ppo.policyLoss(
              scored.logProbs(),
              Ppo.padded(scope, Arrays.asList(oldLogProbs), width),
              Ppo.padded(scope, Arrays.asList(advantages), width),
              mask,
              0.2);
      var valueLoss =
          Ppo.valueLoss(
              scored.values(),
              scored.values().stopGradient(),
              Ppo.padded(scope, Arrays.asList(returns), width),
              mask,
              0.2);
      var loss = Ppo.ppoLoss(policyLoss.loss(), valueLoss, null, 0.1, 0.0);
      collector.backward(loss);
      return policyLoss.clipFraction();
    }
  }
}
