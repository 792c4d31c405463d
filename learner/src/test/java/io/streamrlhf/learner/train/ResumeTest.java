package io.streamrlhf.learner.train;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamrlhf.learner.config.PretrainConfig;
import io.streamrlhf.learner.config.SftConfig;
import io.streamrlhf.learner.pretrain.Pretraining;
import io.streamrlhf.learner.sft.SupervisedFineTuning;
import io.streamrlhf.model.ByteTokenizer;
import io.streamrlhf.model.Gpt;
import io.streamrlhf.model.GptConfig;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A run killed at a step and resumed (fresh model, optimizer and RNG objects) ends where an uninterrupted one does. */
class ResumeTest {
  static final GptConfig MINI = new GptConfig(ByteTokenizer.VOCAB_SIZE, 64, 16, 1, 2);
  static final PrintWriter QUIET = new PrintWriter(new StringWriter());

  @TempDir Path dir;

  static PretrainConfig pretrain() {
    // warm-up 2 of 6 steps and a cosine: the schedule position matters; weight decay on
    return new PretrainConfig("tiny", 5, 6, 4, 16, 1e-2, 1e-3, 2, 0.1, 0.9, 0.95, 0.5, 1, 3);
  }

  @Test
  void pretrainKilledAfterStepFourAndResumedEqualsUninterrupted() throws Exception {
    var straight = dir.resolve("straight");
    var killed = dir.resolve("killed");
    Pretraining.run(pretrain(), MINI, straight, false, QUIET, Long.MAX_VALUE);
    // checkpoint at step 3; step 4 is taken and lost, as when the process dies before step 6's checkpoint
    Pretraining.run(pretrain(), MINI, killed, false, QUIET, 4);
    assertThat(Checkpoint.read(killed, "pretrain").state().step()).isEqualTo(3);
    Pretraining.run(pretrain(), MINI, killed, true, QUIET, Long.MAX_VALUE);

    assertThat(Checkpoint.read(killed, "pretrain").state().step()).isEqualTo(6);
    assertSameWeights(straight, killed);
    var a = Checkpoint.read(straight, "pretrain");
    var b = Checkpoint.read(killed, "pretrain");
    assertThat(b.state().dataPosition()).isEqualTo(a.state().dataPosition()).isEqualTo(24);
    assertThat(b.optimizer().version()).isEqualTo(6);
  }

  @Test
  void sftKilledAndResumedEqualsUninterrupted() throws Exception {
    var base = dir.resolve("base");
    Pretraining.run(pretrain(), MINI, base, false, QUIET, Long.MAX_VALUE);
    var sft = new SftConfig(2, 6, 4, 1e-2, 1e-3, 2, 0.1, 0.9, 0.95, 0.5, 1, 3);
    SupervisedFineTuning.run(sft, base, dir.resolve("straight"), false, QUIET);
    SupervisedFineTuning.run(sft, base, dir.resolve("killed"), false, QUIET, 5);
    SupervisedFineTuning.run(sft, base, dir.resolve("killed"), true, QUIET);
    assertSameWeights(dir.resolve("straight"), dir.resolve("killed"));
  }

  @Test
  void aDifferentStepCountIsNotMistakenForEquality() throws Exception {
    // the comparison itself can fail: 5 steps are not 6
    Pretraining.run(pretrain(), MINI, dir.resolve("six"), false, QUIET, Long.MAX_VALUE);
    Pretraining.run(pretrain(), MINI, dir.resolve("five"), false, QUIET, 5);
    Pretraining.run(pretrain(), MINI, dir.resolve("five"), false, QUIET, 3); // overwrite: checkpoint at 3 only
    try (var six = Checkpoint.loadModel(dir.resolve("six")); var three = Checkpoint.loadModel(dir.resolve("five"))) {
      assertThat(maxDifference(six, three)).isGreaterThan(1e-4);
    }
  }

  static void assertSameWeights(Path a, Path b) throws Exception {
    try (var x = Checkpoint.loadModel(a); var y = Checkpoint.loadModel(b)) {
      assertThat(maxDifference(x, y)).isLessThanOrEqualTo(1e-6);
    }
  }

  static double maxDifference(Gpt x, Gpt y) {
    double max = 0;
    for (var entry : x.parameters().entrySet()) {
      var p = entry.getValue().toFloatArray();
      var q = y.parameters().get(entry.getKey()).toFloatArray();
      for (int i = 0; i < p.length; i++) max = Math.max(max, Math.abs(p[i] - q[i]));
    }
    return max;
  }
}
