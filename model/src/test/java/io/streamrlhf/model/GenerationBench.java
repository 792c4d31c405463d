package io.streamrlhf.model;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * Hand-run measurement of BENCHMARKS.md's generation keys on bench-small: batch 16 × (32 prompt +
 * 64 new tokens), temperature 1, with and without the KV cache. Not a test (never timed in CI).
 *
 * <pre>
 * mvn -B -q -pl model -am test-compile
 * java -Dai.djl.offline=true -cp model/target/classes:model/target/test-classes:$(cat cp.txt) \
 *     io.streamrlhf.model.GenerationBench [threads]
 * </pre>
 */
public final class GenerationBench {

  public static void main(String[] args) {
    if (args.length > 0) { // read by DJL when the engine starts
      System.setProperty("ai.djl.pytorch.num_threads", args[0]);
    }
    int batch = 16;
    int promptLength = 32;
    int newTokens = 64;
    var random = new Random(0);
    List<int[]> prompts = new ArrayList<>();
    for (int i = 0; i < batch; i++) {
      prompts.add(random.ints(promptLength, 0, 256).toArray());
    }
    try (var model = Gpt.create(GptConfig.small(), 0)) {
      Gpt.inferenceOnlyThread();
      var sampling = new Generator.Sampling(newTokens, 1f, 0, 1);
      double kv = tokensPerSecond(() -> new Generator(model).generate(prompts, sampling), 5);
      double noCache =
          tokensPerSecond(() -> new Generator(model).generateWithoutCache(prompts, sampling), 3);
      System.out.printf(
          "{\"params\": %d, \"threads\": %d, \"gen_kv_tokens_per_s\": %.0f, "
              + "\"gen_nocache_tokens_per_s\": %.0f}%n",
          model.parameterCount(), ai.djl.pytorch.jni.JniUtils.getNumThreads(), kv, noCache);
    }
  }

  /** Median over {@code repeats} runs after one warm-up; counts the tokens really produced. */
  private static double tokensPerSecond(
      java.util.function.Supplier<List<Generator.Completion>> run, int repeats) {
    run.get();
    double[] rates = new double[repeats];
    for (int i = 0; i < repeats; i++) {
      long start = System.nanoTime();
      int tokens = run.get().stream().mapToInt(c -> c.tokens().length).sum();
      rates[i] = tokens / ((System.nanoTime() - start) / 1e9);
    }
    Arrays.sort(rates);
    return rates[repeats / 2];
  }
}
