package io.streamrlhf.jmh;

import io.streamrlhf.model.AdamW;
import io.streamrlhf.model.Gpt;
import io.streamrlhf.model.GptConfig;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
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
 * AdamW alone on bench-small's 3.29 M parameters: global-norm clip and the update, on the gradients
 * of one PPO backward made before each call (not timed).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 10, time = 1)
@Fork(
    value = 1,
    jvmArgsAppend = {"-Dai.djl.offline=true", "-Xss4m"})
public class AdamWBench {
  @Param({"2"})
  int threads;

  private Gpt policy;
  private AdamW optimizer;
  private List<int[]> prompts;
  private List<int[]> responses;
  private float[][] zeros;

  @Setup
  public void setUp() {
    Engines.start(threads);
    policy = Gpt.create(GptConfig.small(), 0);
    optimizer = new AdamW(policy, AdamW.Hyperparameters.defaults());
    prompts = Engines.tokens(1, Engines.BATCH, Engines.PROMPT_TOKENS);
    responses = Engines.tokens(2, Engines.BATCH, Engines.NEW_TOKENS);
    zeros = new float[Engines.BATCH][Engines.NEW_TOKENS];
  }

  @Setup(Level.Invocation)
  public void gradients() {
    var ones = new float[Engines.BATCH][Engines.NEW_TOKENS];
    for (var row : ones) {
      java.util.Arrays.fill(row, 1f);
    }
    PpoStepBench.lossForwardBackward(policy, prompts, responses, zeros, ones, ones);
  }

  @TearDown
  public void tearDown() {
    optimizer.close();
    policy.close();
  }

  @Benchmark
  public float adamWStep() {
    return optimizer.step(1e-4f, 1f);
  }
}
