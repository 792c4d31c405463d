package io.streamrlhf.learner.reward;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamrlhf.learner.config.ConfigLoader;
import io.streamrlhf.learner.config.OnlineRewardConfig;
import io.streamrlhf.learner.train.TrainState;
import io.streamrlhf.model.ByteTokenizer;
import io.streamrlhf.model.Gpt;
import io.streamrlhf.model.GptConfig;
import io.streamrlhf.model.checkpoint.Checkpoint;
import io.streamrlhf.model.checkpoint.Json;
import io.streamrlhf.model.checkpoint.RewardStats;
import io.streamrlhf.tasks.Demonstrations;
import io.streamrlhf.tasks.Labeler;
import io.streamrlhf.tasks.Oracle;
import io.streamrlhf.tasks.SplitMix64;
import io.streamrlhf.tasks.TrainingPrompts;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class OnlineRewardTrainingTest {
  @TempDir Path dir;

  private static final GptConfig SHAPE = new GptConfig(ByteTokenizer.VOCAB_SIZE, 128, 16, 1, 2);

  private static final OnlineRewardConfig CONFIG =
      ConfigLoader.with(
          OnlineRewardConfig.defaults(),
          "comparisons_per_step=4",
          "replay_ratio=1",
          "statistics_samples=4",
          "likelihood_fit_min_comparisons=4",
          "learning_rate=1e-3",
          "min_learning_rate=1e-3",
          "warmup_steps=0");

  /** K = 4 answers as labelers write them (clean, chatter, slip), ranked by a noisy labeler. */
  static List<RankedComparison> comparisons(long seed, int n) {
    var prompts = new TrainingPrompts(seed);
    var labeler = new Labeler(1, 0.33, seed);
    var out = new ArrayList<RankedComparison>();
    for (int s = 0; out.size() < n; s++) {
      var task = prompts.next();
      var responses = new ArrayList<String>();
      var scores = new double[4];
      for (int k = 0; k < 4; k++) {
        var written = Demonstrations.write(task, SplitMix64.stream(seed, "writer-" + s + "-" + k));
        responses.add(written.response());
        scores[k] = Oracle.grade(task, written.response(), true).score();
      }
      var ranks = new int[4];
      var bestFirst = labeler.rank(scores);
      for (int position = 0; position < 4; position++) ranks[bestFirst[position]] = position;
      var checked =
          RankedComparison.check(
              seed + "-" + s,
              null,
              "labeler-1",
              task.prompt(),
              responses,
              Arrays.stream(ranks).boxed().toList(),
              SHAPE.contextLength());
      if (checked.comparison() != null) out.add(checked.comparison()); // all four alike: no pairs
    }
    return out;
  }

  private Path sft() throws Exception {
    var sft = dir.resolve("sft");
    try (var model = Gpt.create(SHAPE, 1)) {
      Checkpoint.write(
          sft,
          SHAPE,
          model.snapshot(0),
          List.of(model.snapshot(0)),
          new TrainState("sft", 0, 0, new SplitMix64(1).state(), 0, null));
    }
    return sft;
  }

  @Test
  void aColdStartScoresEveryResponseAlikeUntilItLearns() throws Exception {
    var out = new PrintWriter(new StringWriter());
    try (var training = OnlineRewardTraining.start(CONFIG, sft(), null, dir.resolve("rm"), out)) {
      var v0 = training.prepareVersion();
      assertThat(v0.version()).isZero();
      assertThat(v0.likelihoodWeight()).isZero();
      assertThat(v0.scoreMean()).isZero(); // a zeroed head, w = 0: every score 0
      assertThat(v0.scoreStd()).isEqualTo(1e-6); // Moments' floor, so that PPO can divide
      var data = comparisons(1, 12);
      for (int i = 0; i < 12; i += 4) {
        var step = training.step(data.subList(i, i + 4), List.of());
        assertThat(step.fresh()).isEqualTo(4);
        assertThat(step.replayed()).isEqualTo(Math.min(i, 4)); // the buffer holds the earlier ones
      }
      var v3 = training.prepareVersion();
      assertThat(v3.version()).isEqualTo(3);
      assertThat(v3.likelihoodWeight()).isNotNegative(); // fitted: the buffer holds 12 >= 4
      assertThat(v3.scoreStd()).isGreaterThan(1e-6); // the head moved
    }
  }

  @Test
  void aResumedTrainerContinuesAsAnUninterruptedOneAndItsCheckpointLoadsAsARewardModel()
      throws Exception {
    var sft = sft();
    var outDir = dir.resolve("rm");
    var out = new PrintWriter(new StringWriter());
    var data = comparisons(2, 20);
    var heldOut = comparisons(3, 4);
    double[] uninterrupted = new double[2];
    OnlineRewardTraining.Version expected;
    try (var training = OnlineRewardTraining.start(CONFIG, sft, null, outDir, out)) {
      training.step(data.subList(0, 4), heldOut);
      training.step(data.subList(4, 8), List.of());
      training.prepareVersion();
      training.evaluate();
      training.checkpoint("source", Json.MAPPER.createObjectNode().put("offset", 8));
      uninterrupted[0] = training.step(data.subList(8, 12), List.of()).loss();
      uninterrupted[1] = training.step(data.subList(12, 16), List.of()).loss();
      expected = training.prepareVersion();
    }

    var stats = RewardStats.read(outDir);
    assertThat(stats.heldOutSets()).isEqualTo(4);
    assertThat(stats.labelerBeta()).isNaN(); // what a stream cannot know survives the JSON
    try (var model = Checkpoint.loadModel(sft);
        var rewardModel = Checkpoint.loadRewardModel(outDir, model)) {
      assertThat(rewardModel.likelihoodWeight()).isEqualTo(stats.likelihoodWeight());
    }

    try (var resumed = OnlineRewardTraining.resume(CONFIG, sft, outDir, out)) {
      assertThat(resumed.steps()).isEqualTo(2);
      assertThat(resumed.seen()).isEqualTo(12);
      assertThat(resumed.heldOut()).isEqualTo(4);
      assertThat(resumed.replaySize()).isEqualTo(8);
      assertThat(resumed.step(data.subList(8, 12), List.of()).loss()).isEqualTo(uninterrupted[0]);
      assertThat(resumed.step(data.subList(12, 16), List.of()).loss()).isEqualTo(uninterrupted[1]);
      assertThat(resumed.prepareVersion()).isEqualTo(expected);
    }
  }
}
