package io.streamrlhf.learner.eval;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamrlhf.model.ByteTokenizer;
import io.streamrlhf.model.Gpt;
import io.streamrlhf.model.GptConfig;
import java.util.HashSet;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;

/** Each prompt draws from the stream of its index, whatever batch it is sampled in. */
class ResponseSamplerTest {
  private static final GptConfig SHAPE = new GptConfig(ByteTokenizer.VOCAB_SIZE, 80, 32, 2, 4);
  private static final List<String> PROMPTS =
      List.of(
          "Reverse cat.\n",
          "Add 12 and 30.\n",
          "Sort zebra.\n",
          "What color is snow?\n",
          "Insult bob.\n",
          "Repeat hi 3 times.\n",
          "Uppercase dog.\n",
          "Count a in banana.\n",
          "Reverse a.\n");

  @Test
  void aResponseDependsOnTheSeedAndThePromptsIndexNotOnTheBatchSize() {
    try (var model = Gpt.create(SHAPE, 5)) {
      var oneBatch = ResponseSampler.sample(model, PROMPTS, 1f, 11, PROMPTS.size(), false);
      var batchesOfFour = ResponseSampler.sample(model, PROMPTS, 1f, 11, 4, false);
      var lastAlone = ResponseSampler.sampleBatch(model, PROMPTS.subList(8, 9), 8, 1f, 11, false);
      assertThat(responses(batchesOfFour)).isEqualTo(responses(oneBatch));
      assertThat(lastAlone.get(0).response()).isEqualTo(oneBatch.get(8).response());

      // another seed or another index is another stream: an untrained model's responses differ
      var otherSeed = ResponseSampler.sample(model, PROMPTS, 1f, 12, PROMPTS.size(), false);
      var shifted = ResponseSampler.sampleBatch(model, PROMPTS.subList(8, 9), 7, 1f, 11, false);
      assertThat(responses(otherSeed)).isNotEqualTo(responses(oneBatch));
      assertThat(shifted.get(0).response()).isNotEqualTo(oneBatch.get(8).response());
    }
  }

  @Test
  void nextSeedsStreamsShareNoDrawsWithThisSeeds() {
    // the 8 x 8 estimate samples SFT at seed s + 1000 and PPO at s + 1001: independent only if a
    // prompt's stream under one seed is not the other's shifted by a draw (as s·γ + i made it)
    long[] seeds = ResponseSampler.promptSeeds(1000, 0, 64);
    long[] next = ResponseSampler.promptSeeds(1001, 0, 64);
    var drawn = new HashSet<Long>();
    for (long seed : seeds) drawn.addAll(draws(seed));
    for (long seed : next) assertThat(draws(seed)).doesNotContainAnyElementsOf(drawn);
    // and a batch's seeds are the tail of the whole list's
    assertThat(ResponseSampler.promptSeeds(1000, 60, 4))
        .containsExactly(seeds[60], seeds[61], seeds[62], seeds[63]);
  }

  private static List<Long> draws(long seed) {
    var rng = new SplittableRandom(seed);
    return LongStream.generate(rng::nextLong).limit(64).boxed().toList();
  }

  private static List<String> responses(List<ResponseSampler.Sample> samples) {
    return samples.stream().map(ResponseSampler.Sample::response).toList();
  }
}
