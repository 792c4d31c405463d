package io.streamrlhf.jmh;

import io.streamrlhf.model.Generator;
import io.streamrlhf.model.Gpt;
import io.streamrlhf.model.GptConfig;
import java.util.List;
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
 * Batched sampling on bench-small with the KV cache. One decode step costs (generate64 − prefill) /
 * 63: prefill runs the 16 × 32 prompt tokens and samples the first token.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(
    value = 1,
    jvmArgsAppend = {"-Dai.djl.offline=true", "-Xss4m"})
public class DecodeBench {
  @Param({"2"})
  int threads;

  private Gpt model;
  private List<int[]> prompts;

  @Setup
  public void setUp() {
    Engines.start(threads);
    Gpt.inferenceOnlyThread();
    model = Gpt.create(GptConfig.small(), 0);
    prompts = Engines.tokens(1, Engines.BATCH, Engines.PROMPT_TOKENS);
  }

  @TearDown
  public void tearDown() {
    model.close();
  }

  @Benchmark
  public List<Generator.Completion> prefill() {
    return new Generator(model).generate(prompts, new Generator.Sampling(1, 1f, 0, 1));
  }

  @Benchmark
  public List<Generator.Completion> generate64() {
    return new Generator(model)
        .generate(prompts, new Generator.Sampling(Engines.NEW_TOKENS, 1f, 0, 1));
  }
}
