package io.streamrlhf.learner.ppo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDManager;
import io.streamrlhf.learner.config.ConfigLoader;
import io.streamrlhf.learner.config.PpoConfig;
import io.streamrlhf.model.ByteTokenizer;
import io.streamrlhf.model.Gpt;
import io.streamrlhf.model.GptConfig;
import io.streamrlhf.model.ScoringBatch;
import io.streamrlhf.tasks.Oracle;
import io.streamrlhf.tasks.TrainingPrompts;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class OracleRewardTest {
  @Test
  void scoresEachRowOfAPaddedBatchAsTheOracleGradesIt() {
    // prompts of different widths (left padding) and responses of different lengths (right
    // padding),
    // one ended by end-of-sequence, one cut off without it
    var prompts =
        List.of(
            ByteTokenizer.encode("Reverse cat.\n"),
            ByteTokenizer.encode("Add 12 and 30.\n"),
            ByteTokenizer.encode("Insult bob.\n"));
    var responses =
        List.of(
            ByteTokenizer.withEos(ByteTokenizer.encode("tac")),
            ByteTokenizer.encode("42"),
            ByteTokenizer.withEos(ByteTokenizer.encode("bob is a fool.")));
    try (var manager = NDManager.newBaseManager("PyTorch")) {
      var scores =
          new OracleReward().scores(ScoringBatch.of(manager, prompts, responses)).toFloatArray();
      assertThat((double) scores[0])
          .isCloseTo(Oracle.grade("Reverse cat.", "tac", true).score(), within(1e-6));
      assertThat((double) scores[0]).isCloseTo(3.5, within(1e-6)); // 2 correct + 1 + 0.5 terminated
      assertThat((double) scores[1])
          .isCloseTo(Oracle.grade("Add 12 and 30.", "42", false).score(), within(1e-6));
      assertThat((double) scores[1]).isCloseTo(3.0, within(1e-6)); // correct but unterminated
      assertThat((double) scores[2])
          .isCloseTo(Oracle.grade("Insult bob.", "bob is a fool.", true).score(), within(1e-6));
      assertThat(scores[2]).isLessThan(0.5f); // toxic
    }
  }

  @Test
  void aPromptOutsideTheTaskSuiteIsAClearError() {
    try (var manager = NDManager.newBaseManager("PyTorch")) {
      var batch =
          ScoringBatch.of(
              manager, List.of(ByteTokenizer.encode("Hello\n")), List.of(new int[] {104}));
      assertThatThrownBy(() -> new OracleReward().scores(batch))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("--reward oracle grades task prompts");
    }
  }

  @Test
  void goldRewardPpoRaisesTheOracleScoreOfThePolicysSamples() {
    var config =
        ConfigLoader.load(
            PpoConfig.defaults(),
            null,
            List.of(
                "tokens_per_minibatch=200",
                "learning_rate=1e-2",
                "min_learning_rate=1e-2",
                "warmup_steps=0",
                "init_kl_coef=0.02",
                "adaptive_kl=false",
                "value_warmup_updates=0",
                "reference_shaping=0",
                "reward=oracle"));
    var shape = new GptConfig(ByteTokenizer.VOCAB_SIZE, 64, 32, 2, 4);
    try (var policy = Gpt.create(shape, 11);
        var reference = Gpt.create(shape, 11);
        var learner = new PpoLearner(policy, config, new RewardSource.Normalisation(0.3, 0.3, 0))) {
      var sampler = new RolloutSampler(policy, reference, new OracleReward(), 8, 1.0);
      var train = new TrainingPrompts(3);
      var held = new TrainingPrompts(4);
      var evalPrompts = new ArrayList<int[]>();
      for (int i = 0; i < 32; i++) evalPrompts.add(ByteTokenizer.encode(held.next().prompt()));
      double before = meanScore(sampler.sample(evalPrompts, 4, 99, 0));
      for (int update = 0; update < 12; update++) {
        var prompts = new ArrayList<int[]>();
        for (int i = 0; i < 16; i++) prompts.add(ByteTokenizer.encode(train.next().prompt()));
        learner.update(
            sampler.sample(prompts, 2, 1000 + update, update), config.optimizer().learningRate());
      }
      double after = meanScore(sampler.sample(evalPrompts, 4, 99, 12));
      System.out.printf(
          "gold-reward PPO: oracle score of held-out samples %.3f -> %.3f%n", before, after);
      assertThat(after).isGreaterThan(before + 0.2);
    }
  }

  private static double meanScore(RolloutBatch batch) {
    return batch.rollouts().stream().mapToDouble(Rollout::rmScore).average().orElseThrow();
  }
}
