package io.streamrlhf.learner.eval;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.streamrlhf.model.ByteTokenizer;
import io.streamrlhf.model.Gpt;
import io.streamrlhf.model.GptConfig;
import io.streamrlhf.tasks.Task;
import java.util.List;
import org.junit.jupiter.api.Test;

/** eval's KL to SFT: Σ_t log π(y_t | ·) − log π_SFT(y_t | ·) over the sampled tokens. */
class KlToSftTest {
  private static final GptConfig SHAPE = new GptConfig(ByteTokenizer.VOCAB_SIZE, 80, 32, 2, 4);
  private static final List<String> PROMPTS =
      List.of("Reverse cat.\n", "Add 12 and 30.\n", "What color is snow?\n", "Insult bob.\n");

  /** The sampled tokens' log-probability under {@code model}, one full forward pass each. */
  private static double byHand(Gpt model, String prompt, int[] response) {
    var prompted = ByteTokenizer.encode(prompt);
    var all = new long[prompted.length + response.length];
    for (int i = 0; i < prompted.length; i++) all[i] = prompted[i];
    for (int i = 0; i < response.length; i++) all[prompted.length + i] = response[i];
    try (NDManager m = NDManager.newBaseManager("PyTorch")) {
      var tokens = m.create(all, new Shape(1, all.length));
      var mask = m.ones(new Shape(1, all.length), DataType.BOOLEAN);
      var logits = Gpt.withoutGradient(() -> model.forward(tokens, mask)).logits().logSoftmax(-1);
      var rows = logits.toFloatArray();
      double sum = 0;
      // token t is predicted at position t − 1
      for (int t = prompted.length; t < all.length; t++)
        sum += rows[(t - 1) * ByteTokenizer.VOCAB_SIZE + (int) all[t]];
      return sum;
    }
  }

  @Test
  void klIsThePoliciesLogProbabilityLessSftsOnTheSampledTokens() {
    try (var policy = Gpt.create(SHAPE, 5);
        var sft = Gpt.create(SHAPE, 6)) {
      var tasks = PROMPTS.stream().map(Task::parse).toList();
      var samples = ResponseSampler.sample(policy, PROMPTS, 1f, 11, PROMPTS.size(), false);
      var kl = Evaluation.klToSft(policy, sft, tasks, samples);
      for (int i = 0; i < kl.length; i++) {
        var tokens = samples.get(i).tokens();
        double expected =
            byHand(policy, PROMPTS.get(i), tokens) - byHand(sft, PROMPTS.get(i), tokens);
        assertThat(kl[i]).as("sample %d", i).isCloseTo(expected, within(1e-3));
      }
      assertThat(Evaluation.klToSft(sft, sft, tasks, samples)).containsOnly(0.0);
    }
  }
}
