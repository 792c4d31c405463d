package io.streamrlhf.learner.reward;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamrlhf.learner.train.LearningRateSchedule;
import io.streamrlhf.learner.train.TrainingRun;
import io.streamrlhf.model.AdamW;
import io.streamrlhf.model.ByteTokenizer;
import io.streamrlhf.model.Gpt;
import io.streamrlhf.model.GptConfig;
import io.streamrlhf.model.RewardModel;
import io.streamrlhf.tasks.Demonstrations;
import io.streamrlhf.tasks.Labeler;
import io.streamrlhf.tasks.Oracle;
import io.streamrlhf.tasks.SplitMix64;
import io.streamrlhf.tasks.TrainingPrompts;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The comparisons teach the scalar head what the demonstrations got wrong: K answers to a prompt as
 * labelers write them (clean, chatter, slip), ranked by a noisy labeler following the oracle. Small
 * talk and insults are surface features a tiny model can learn, so Bradley-Terry training lifts the
 * head from chance well above it on held-out prompts.
 */
class RewardLearnsFromRankingsTest {
  @TempDir Path dir;

  private static final GptConfig SHAPE = new GptConfig(ByteTokenizer.VOCAB_SIZE, 96, 32, 2, 4);
  private static final int K = 4;

  private static List<RankedSet> sets(long seed, int n) {
    var prompts = new TrainingPrompts(seed);
    var labeler =
        new Labeler(1, 0.33, seed); // the reward stage's calibrated noise on the demo's SFT samples
    var out = new ArrayList<RankedSet>();
    for (int s = 0; s < n; s++) {
      var task = prompts.next();
      var responses = new ArrayList<int[]>();
      var scores = new double[K];
      for (int k = 0; k < K; k++) {
        var written = Demonstrations.write(task, SplitMix64.stream(seed, "writer-" + s + "-" + k));
        responses.add(ByteTokenizer.withEos(ByteTokenizer.encode(written.response())));
        scores[k] = Oracle.grade(task, written.response(), true).score();
      }
      out.add(
          new RankedSet(
              ByteTokenizer.encode(task.prompt()),
              responses,
              RankedSet.ranksOf(labeler.rank(scores), responses)));
    }
    return out;
  }

  @Test
  void bradleyTerryTeachesTheScalarHeadChatterAndCompliance() {
    var train = sets(1, 480);
    var heldOut = sets(2, 160);
    var options =
        new TrainingRun.Options(
            "reward",
            dir,
            new LearningRateSchedule(1e-3, 1e-3, 0, 180),
            new AdamW.Settings(0.9, 0.95, 0.0, 1.0),
            1,
            Integer.MAX_VALUE);
    try (var run = TrainingRun.start(options, Gpt.create(SHAPE, 5))) {
      run.model().zeroScalarHead();
      var rm = RewardModel.headOnly(run.model());
      double before = RewardScoring.accuracy(rm, heldOut);
      for (int epoch = 0; epoch < 6; epoch++) {
        for (int start = 0; start < train.size(); start += 16) {
          var batch = train.subList(start, start + 16);
          run.step(batch.size(), scope -> RewardScoring.loss(rm, scope, batch).loss());
        }
      }
      double after = RewardScoring.accuracy(rm, heldOut);
      System.out.printf("RM on written answers: held-out accuracy %.3f -> %.3f%n", before, after);
      assertThat(before)
          .isEqualTo(0.5); // a zeroed head scores every answer alike: every pair a coin flip
      assertThat(after)
          .isGreaterThan(
              0.65); // slips of a letter or a digit are not surface features: the ceiling is below
      // 1
    }
  }
}
