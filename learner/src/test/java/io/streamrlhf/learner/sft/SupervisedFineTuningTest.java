package io.streamrlhf.learner.sft;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamrlhf.learner.config.OptimizerConfig;
import io.streamrlhf.learner.config.PretrainConfig;
import io.streamrlhf.learner.config.SftConfig;
import io.streamrlhf.learner.pretrain.Pretraining;
import io.streamrlhf.model.ByteTokenizer;
import io.streamrlhf.model.GptConfig;
import io.streamrlhf.model.checkpoint.Checkpoint;
import io.streamrlhf.tasks.Demonstrations;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SupervisedFineTuningTest {
  // context 96: a prompt and a demonstration with small talk, the longest kind, fit
  static final GptConfig MINI = new GptConfig(ByteTokenizer.VOCAB_SIZE, 96, 32, 2, 2);

  @TempDir Path dir;

  @Test
  void sftLowersResponseLossOnHeldOutDemonstrations() throws Exception {
    var base = dir.resolve("base");
    var pretrain =
        new PretrainConfig("tiny", 7, 10, 8, 32, OptimizerConfig.of(1e-2, 1e-3, 2, 0.1), 10, 1000);
    Pretraining.run(
        pretrain, MINI, base, false, new PrintWriter(new StringWriter()), Long.MAX_VALUE);
    // a seed the SFT run does not use: demonstrations it never trained on
    var heldOut = Demonstrations.pool(99, 128);
    double before;
    try (var model = Checkpoint.loadModel(base)) {
      before = SupervisedFineTuning.meanResponseLoss(model, heldOut);
    }
    var sft = new SftConfig(2, 80, 32, 640, OptimizerConfig.of(1e-2, 1e-3, 5, 0.0), 20, 1000);
    var out = dir.resolve("sft");
    var result =
        SupervisedFineTuning.run(sft, base, out, false, new PrintWriter(new StringWriter()));
    double after;
    try (var model = Checkpoint.loadModel(out)) {
      after = SupervisedFineTuning.meanResponseLoss(model, heldOut);
    }
    assertThat(result.lossCurve()).hasSize(4);
    assertThat(after).isLessThan(before * 0.75);
    assertThat(after).isLessThan(before - 1.0);
  }
}
