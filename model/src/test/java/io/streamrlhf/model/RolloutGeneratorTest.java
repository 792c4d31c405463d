package io.streamrlhf.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Rollouts depend on each prompt's seed only, not on which prompts share a batch (actors may group
 * any way).
 */
class RolloutGeneratorTest {
  private static final GptConfig SHAPE = new GptConfig(ByteTokenizer.VOCAB_SIZE, 48, 32, 2, 4);

  @Test
  void aPromptSampledAloneGivesTheResponsesItGetsInsideABatch() {
    try (var policy = Gpt.create(SHAPE, 3);
        var reference = Gpt.create(SHAPE, 4)) {
      RewardFunction length = batch -> batch.responseMask().sum(new int[] {1});
      var generator = new RolloutGenerator(policy, reference, length, 12, 1.0);
      var prompts =
          List.of(
              ByteTokenizer.encode("Q: 2+2?\n"),
              ByteTokenizer.encode("Say hi\n"),
              ByteTokenizer.encode("A longer prompt here\n"));
      long[] seeds = RolloutGenerator.promptSeeds(77, prompts.size());

      var together = generator.sample(prompts, 2, 77);
      var alone =
          generator.sample(List.of(new RolloutGenerator.SeededPrompt(prompts.get(2), seeds[2])), 2);

      assertThat(together).hasSize(6);
      assertThat(alone).hasSize(2);
      for (int k = 0; k < 2; k++) {
        var inBatch = together.get(4 + k);
        assertThat(inBatch.promptIndex()).isEqualTo(2);
        assertThat(inBatch.sampleIndex()).isEqualTo(k);
        assertThat(alone.get(k).response()).isEqualTo(inBatch.response());
        for (int t = 0; t < inBatch.response().length; t++) {
          assertThat(alone.get(k).behaviourLogProbs()[t])
              .isCloseTo(inBatch.behaviourLogProbs()[t], within(1e-4f));
          assertThat(alone.get(k).refLogProbs()[t])
              .isCloseTo(inBatch.refLogProbs()[t], within(1e-4f));
        }
      }
      // the K responses of one prompt draw from different streams
      assertThat(together.get(4).response()).isNotEqualTo(together.get(5).response());
    }
  }

  @Test
  void extraResponsesAreTheSampleIndicesAfterTheOnesAlreadyDrawn() {
    try (var policy = Gpt.create(SHAPE, 3);
        var reference = Gpt.create(SHAPE, 4)) {
      RewardFunction length = batch -> batch.responseMask().sum(new int[] {1});
      var generator = new RolloutGenerator(policy, reference, length, 12, 1.0);
      var prompts =
          List.of(
              new RolloutGenerator.SeededPrompt(ByteTokenizer.encode("Say hi\n"), 5),
              new RolloutGenerator.SeededPrompt(ByteTokenizer.encode("Q: 2+2?\n"), 6));

      var four = generator.sample(prompts, 4);
      var extra = generator.responses(prompts, 2, 4);

      assertThat(extra).hasSize(4);
      for (int p = 0; p < 2; p++) {
        for (int k = 2; k < 4; k++) {
          assertThat(extra.get(p * 2 + k - 2).tokens()).isEqualTo(four.get(p * 4 + k).response());
        }
      }
      assertThat(generator.responses(prompts, 2, 2)).isEmpty();
    }
  }
}
