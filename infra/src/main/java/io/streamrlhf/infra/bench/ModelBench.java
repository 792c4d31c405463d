package io.streamrlhf.infra.bench;

import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import io.streamrlhf.learner.ppo.Ppo;
import io.streamrlhf.model.AdamW;
import io.streamrlhf.model.ComputeDevice;
import io.streamrlhf.model.Generator;
import io.streamrlhf.model.Gpt;
import io.streamrlhf.model.GptConfig;
import io.streamrlhf.model.Gradients;
import io.streamrlhf.model.ScoringBatch;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.DoubleSupplier;

/**
 * The model-side measurements of BENCHMARKS.md on one shape: batched sampling with and without the
 * KV cache, one PPO update, one reference forward, and the machine's GEMM ceiling through the same
 * engine. Every figure is a median over repeated runs after a warm-up, with its spread.
 *
 * <p>The PPO update is the project's own (Ppo's clipped surrogate and clipped value loss, AdamW
 * with global-norm clipping), on the same token counts as the peer: 16 × (32 prompt + 64 response).
 */
public final class ModelBench {

  /** One measured quantity: the median and the spread of its runs. */
  public record Figure(double median, double min, double max, int runs) {
    public static Figure of(double[] samples) {
      var sorted = samples.clone();
      Arrays.sort(sorted);
      int n = sorted.length;
      double median = n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
      return new Figure(median, sorted[0], sorted[n - 1], n);
    }
  }

  /** What the peer also measures, plus the ceiling and the share of it the PPO step reaches. */
  public record Result(
      long parameters,
      int threads,
      Figure genKvTokensPerS,
      Figure genNocacheTokensPerS,
      Figure ppoStepMs,
      Figure refForwardMs,
      Figure gemmGflops,
      double ppoStepMfu) {}

  /** bench-small's batch: 16 prompts of 32 tokens, 64 new tokens each, temperature 1. */
  public record Shape3(int batch, int promptTokens, int newTokens) {
    public static final Shape3 BENCH = new Shape3(16, 32, 64);
  }

  private final GptConfig config;
  private final Shape3 shape;
  private final int repeats;

  public ModelBench(GptConfig config, Shape3 shape, int repeats) {
    this.config = config;
    this.shape = shape;
    this.repeats = repeats;
  }

  public Result run() {
    var rng = new SplittableRandom(0);
    var prompts = new ArrayList<int[]>();
    for (int i = 0; i < shape.batch(); i++) {
      prompts.add(rng.ints(shape.promptTokens(), 0, 256).toArray());
    }
    try (var policy = Gpt.create(config, 0)) {
      var sampling = new Generator.Sampling(shape.newTokens(), 1f, 0, 1);
      // Tokens actually produced: a row that samples end-of-sequence stops early, which only
      // lowers our rate (the batch keeps its width until every row is done).
      var generator = new Generator(policy);
      var genKv =
          measure(repeats, () -> tokensPerSecond(() -> generator.generate(prompts, sampling)));
      var genNocache =
          measure(
              Math.max(1, repeats / 2),
              () -> tokensPerSecond(() -> generator.generateWithoutCache(prompts, sampling)));

      var responses = new ArrayList<int[]>();
      for (int i = 0; i < shape.batch(); i++) {
        responses.add(rng.ints(shape.newTokens(), 0, 256).toArray());
      }
      var ppo = new PpoStep(policy, prompts, responses, rng);
      var ppoMs = measure(2 * repeats, ppo::runMs);
      var refMs = measure(2 * repeats, () -> refForwardMs(policy, prompts, responses));
      ppo.close();
      var gemm = measure(20, ModelBench::gemmGflops);
      // Useful FLOPs of one update ≈ 6 × parameters × tokens (forward 2, backward 4; Kaplan et al.
      // 2020).
      double tokens = (double) shape.batch() * (shape.promptTokens() + shape.newTokens());
      double ppoGflops = 6.0 * policy.parameterCount() * tokens / (ppoMs.median() / 1e3) / 1e9;
      return new Result(
          policy.parameterCount(),
          JniUtils.getNumThreads(),
          genKv,
          genNocache,
          ppoMs,
          refMs,
          gemm,
          ppoGflops / gemm.median());
    }
  }

  /** Only the PPO step's time, as {@link #run} measures it (for {@code rlhf bench --only}). */
  public Figure ppoStepMs() {
    var rng = new SplittableRandom(0);
    var prompts = new ArrayList<int[]>();
    for (int i = 0; i < shape.batch(); i++) {
      prompts.add(rng.ints(shape.promptTokens(), 0, 256).toArray());
    }
    var responses = new ArrayList<int[]>();
    for (int i = 0; i < shape.batch(); i++) {
      responses.add(rng.ints(shape.newTokens(), 0, 256).toArray());
    }
    try (var policy = Gpt.create(config, 0)) {
      var ppo = new PpoStep(policy, prompts, responses, rng);
      try {
        return measure(2 * repeats, ppo::runMs);
      } finally {
        ppo.close();
      }
    }
  }

  private static Figure measure(int runs, DoubleSupplier once) {
    once.getAsDouble(); // warm-up: first-call allocations and kernel selection
    double[] samples = new double[runs];
    for (int i = 0; i < runs; i++) {
      samples[i] = once.getAsDouble();
    }
    return Figure.of(samples);
  }

  private static double tokensPerSecond(
      java.util.function.Supplier<List<Generator.Completion>> generation) {
    long t0 = System.nanoTime();
    var completions = generation.get();
    double seconds = (System.nanoTime() - t0) / 1e9;
    return completions.stream().mapToInt(c -> c.tokens().length).sum() / seconds;
  }

  private static double refForwardMs(Gpt model, List<int[]> prompts, List<int[]> responses) {
    return Gpt.withoutGradient(
        () -> {
          try (var scope = ComputeDevice.scope()) {
            long t0 = System.nanoTime();
            var batch = ScoringBatch.of(scope, prompts, responses);
            model.score(batch, 1f).logProbs().toFloatArray();
            return (System.nanoTime() - t0) / 1e6;
          }
        });
  }

  /** float32 [1536 × 256] · [256 × 1024], the size BENCHMARKS.md names. */
  private static double gemmGflops() {
    try (var scope = ComputeDevice.scope()) {
      var a = scope.randomNormal(new Shape(1536, 256));
      var b = scope.randomNormal(new Shape(256, 1024));
      long t0 = System.nanoTime();
      var c = JniUtils.matmul((PtNDArray) a, (PtNDArray) b);
      c.getFloat(0, 0); // forces completion
      double seconds = (System.nanoTime() - t0) / 1e9;
      return 2.0 * 1536 * 256 * 1024 / seconds / 1e9;
    }
  }

  /** One PPO update on a fixed batch, as the learner runs it. */
  private static final class PpoStep implements AutoCloseable {
    private final Gpt policy;
    private final AdamW optimizer;
    private final List<int[]> prompts;
    private final List<int[]> responses;
    private final float[][] oldLogProbs;
    private final float[][] advantages;
    private final float[][] returns;

    PpoStep(Gpt policy, List<int[]> prompts, List<int[]> responses, SplittableRandom rng) {
      this.policy = policy;
      this.optimizer = new AdamW(policy, AdamW.Hyperparameters.defaults());
      this.prompts = prompts;
      this.responses = responses;
      int b = responses.size();
      int t = responses.get(0).length;
      oldLogProbs = new float[b][t];
      advantages = new float[b][t];
      returns = new float[b][t];
      for (int i = 0; i < b; i++) {
        for (int j = 0; j < t; j++) {
          oldLogProbs[i][j] = (float) (rng.nextGaussian() - 5);
          advantages[i][j] = (float) rng.nextGaussian();
          returns[i][j] = (float) rng.nextGaussian();
        }
      }
    }

    double runMs() {
      long t0 = System.nanoTime();
      try (var scope = ComputeDevice.scope();
          var collector = Gradients.collector()) {
        var batch = ScoringBatch.of(scope, prompts, responses);
        var scored = policy.score(batch, 1f);
        int width = batch.responseWidth();
        var old = Ppo.padded(scope, Arrays.asList(oldLogProbs), width);
        var adv = Ppo.padded(scope, Arrays.asList(advantages), width);
        var ret = Ppo.padded(scope, Arrays.asList(returns), width);
        var mask = batch.responseMask();
        var policyLoss = Ppo.policyLoss(scored.logProbs(), old, adv, mask, 0.2);
        var oldValues = scored.values().stopGradient();
        var valueLoss = Ppo.valueLoss(scored.values(), oldValues, ret, mask, 0.2);
        var loss = Ppo.ppoLoss(policyLoss.loss(), valueLoss, null, 0.1, 0.0);
        collector.backward(loss);
      }
      optimizer.step(1e-4f, 1f);
      return (System.nanoTime() - t0) / 1e6;
    }

    @Override
    public void close() {
      optimizer.close();
    }
  }
}
