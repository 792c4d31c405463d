package io.streamrlhf.infra.stream;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamrlhf.learner.ppo.PpoLoop;
import io.streamrlhf.model.Gpt;
import io.streamrlhf.model.checkpoint.Checkpoint;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The transport changes nothing in the math: one actor with max_lag 0 through Kafka and the
 * in-process stage, same seed, end with the same weights (within float tolerance: batched
 * generation groups rows differently, which moves log-probs in the last bits).
 */
class EquivalenceTest {

  @Test
  void oneSynchronousActorThroughKafkaMatchesTheInProcessStage(@TempDir Path dir) throws Exception {
    TinyRun.checkpoints(dir);
    var config = TinyRun.config(3, 0);
    var log = new PrintWriter(new StringWriter(), true);
    PpoLoop.inProcess(
        config, dir.resolve("sft"), dir.resolve("rm"), dir.resolve("inproc"), false, log);
    LocalLoop.run(
        config,
        1,
        LoopBroker.fresh(),
        dir.resolve("sft"),
        dir.resolve("rm"),
        dir.resolve("kafka"),
        log);

    try (var inproc = Checkpoint.loadModel(dir.resolve("inproc"));
        var kafka = Checkpoint.loadModel(dir.resolve("kafka"));
        var sft = Checkpoint.loadModel(dir.resolve("sft"))) {
      double moved = maxDifference(inproc, sft);
      double apart = maxDifference(inproc, kafka);
      assertThat(moved).as("PPO moved the weights").isGreaterThan(1e-3);
      assertThat(apart).as("streaming vs in-process").isLessThan(1e-4);
    }
  }

  private static double maxDifference(Gpt a, Gpt b) {
    double max = 0;
    for (var entry : a.parameters().entrySet()) {
      if (entry.getKey().startsWith("scalar_head."))
        continue; // zeroed in PPO, so trivially different from SFT
      var x = entry.getValue().toFloatArray();
      var y = b.parameters().get(entry.getKey()).toFloatArray();
      for (int i = 0; i < x.length; i++) max = Math.max(max, Math.abs(x[i] - y[i]));
    }
    return max;
  }
}
