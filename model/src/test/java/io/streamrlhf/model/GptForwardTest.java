package io.streamrlhf.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class GptForwardTest {

  private static final GptConfig SHAPE = new GptConfig(ByteTokenizer.VOCAB_SIZE, 32, 32, 2, 4);
  private static Gpt model;

  @BeforeAll
  static void createModel() {
    model = Gpt.create(SHAPE, 7);
  }

  @AfterAll
  static void closeModel() {
    model.close();
  }

  @Test
  void configPresetsAndJsonRoundTrip() {
    assertThat(GptConfig.small()).isEqualTo(new GptConfig(260, 256, 256, 4, 4));
    assertThat(GptConfig.tiny().dModel()).isEqualTo(128);
    assertThat(GptConfig.fromJson(SHAPE.toJson())).isEqualTo(SHAPE);
    assertThat(SHAPE.toJson()).contains("\"dModel\" : 32");
  }

  @Test
  void parameterCountMatchesGpt2Formula() {
    long d = 32, v = 260, ctx = 32, layers = 2;
    long perBlock =
        2 * 2 * d + (3 * d * d + 3 * d) + (d * d + d) + (4 * d * d + 4 * d) + (4 * d * d + d);
    assertThat(model.parameterCount())
        .isEqualTo(v * d + ctx * d + layers * perBlock + 2 * d + d + 1);
    // the shape's own count, which refuses a model too large to checkpoint before it is built
    assertThat(SHAPE.parameterCount()).isEqualTo(model.parameterCount());
  }

  @Test
  void shapesWhoseWeightsExceedOneSnapshotAreRefused() {
    // GPT-2 medium and large in this vocabulary: 1.2 GB of float32 weights fit a 2 GiB array,
    // 2.8 GB do not
    var medium = new GptConfig(ByteTokenizer.VOCAB_SIZE, 1024, 1024, 24, 16);
    assertThat(medium.parameterCount()).isEqualTo(303_627_265L);
    assertThatThrownBy(() -> new GptConfig(ByteTokenizer.VOCAB_SIZE, 1024, 1280, 36, 20))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(
            "a GPT of d_model 1280, 36 layers, context 1024 has 710,035,201 parameters: more than"
                + " the 536,842,861 whose float32 weights fit one weight snapshot (a 2 GiB Java"
                + " array)");
    // many narrow layers: under GPT-2 large's limit, but 503,154 tensors' header entries count too
    assertThatThrownBy(() -> new GptConfig(260, 8, 32, 41_929, 1))
        .hasMessageContaining("has 532,674,689 parameters: more than the 504,669,037");
    // a count beyond a long is refused, not wrapped around to a negative one
    assertThatThrownBy(() -> new GptConfig(260, 1024, 1 << 30, 1, 1))
        .hasMessageContaining("has over 9.2 x 10^18 parameters");
  }

  @Test
  void promptLogitsAloneEqualLogitsInsideLeftPaddedBatch() {
    int[] shortPrompt = ByteTokenizer.encode("hi there");
    int[] longPrompt = ByteTokenizer.encode("a longer prompt, padded less");
    try (NDManager m = NDManager.newBaseManager()) {
      var alone =
          model.forward(
              tokens(m, List.of(shortPrompt), shortPrompt.length),
              mask(m, List.of(shortPrompt), shortPrompt.length));
      int width = longPrompt.length;
      var batch =
          model.forward(
              tokens(m, List.of(longPrompt, shortPrompt), width),
              mask(m, List.of(longPrompt, shortPrompt), width));
      NDArray aloneLogits = alone.logits().get(0);
      NDArray paddedLogits = batch.logits().get(new NDIndex("1, {}:", width - shortPrompt.length));
      assertThat(paddedLogits.getShape()).isEqualTo(aloneLogits.getShape());
      float diff = aloneLogits.sub(paddedLogits).abs().max().getFloat();
      assertThat(diff).isLessThan(1e-5f);
      float valueDiff =
          alone
              .values()
              .get(0)
              .sub(batch.values().get(new NDIndex("1, {}:", width - shortPrompt.length)))
              .abs()
              .max()
              .getFloat();
      assertThat(valueDiff).isLessThan(1e-5f);
      // The padded positions must not be what made them equal: the other row differs.
      assertThat(
              batch
                  .logits()
                  .get(0)
                  .get(new NDIndex("-1"))
                  .sub(aloneLogits.get(-1))
                  .abs()
                  .max()
                  .getFloat())
          .isGreaterThan(1e-3f);
    }
  }

  @Test
  void laterTokensDoNotChangeEarlierLogits() {
    int[] text = ByteTokenizer.encode("causal attention");
    try (NDManager m = NDManager.newBaseManager()) {
      var full =
          model.forward(tokens(m, List.of(text), text.length), mask(m, List.of(text), text.length));
      int[] changed = text.clone();
      changed[text.length - 1] = 'Z';
      var edited =
          model.forward(
              tokens(m, List.of(changed), text.length), mask(m, List.of(changed), text.length));
      var prefix = new NDIndex("0, :{}", text.length - 1);
      assertThat(full.logits().get(prefix).sub(edited.logits().get(prefix)).abs().max().getFloat())
          .isLessThan(1e-6f);
      assertThat(
              full.logits()
                  .get(new NDIndex("0, -1"))
                  .sub(edited.logits().get(new NDIndex("0, -1")))
                  .abs()
                  .max()
                  .getFloat())
          .isGreaterThan(1e-4f);
    }
  }

  @Test
  void rewardScoreIsTheLastTokenHeadAndTheLikelihoodTermTheResponsesLogLikelihood() {
    int[] prompt = ByteTokenizer.encode("Reverse abc.\n");
    int[] response = {'c', 'b', 'a', ByteTokenizer.EOS};
    int[] otherPrompt = ByteTokenizer.encode("Sort zyxwvu.\n");
    int[] otherResponse = ByteTokenizer.encode("uvwxyz now longer");
    try (NDManager m = NDManager.newBaseManager()) {
      // By hand from a plain forward pass over the unpadded sequence.
      int[] sequence = new int[prompt.length + response.length];
      System.arraycopy(prompt, 0, sequence, 0, prompt.length);
      System.arraycopy(response, 0, sequence, prompt.length, response.length);
      var out =
          Gpt.withoutGradient(
              () ->
                  model.forward(
                      tokens(m, List.of(sequence), sequence.length),
                      mask(m, List.of(sequence), sequence.length)));
      float[] logits = out.logits().toFloatArray();
      float[] values = out.values().toFloatArray();
      int vocab = SHAPE.vocabSize();
      double logLikelihood = 0;
      for (int j = 0; j < response.length; j++) {
        int row = (prompt.length - 1 + j) * vocab; // this position predicts response token j
        double max = Double.NEGATIVE_INFINITY;
        for (int v = 0; v < vocab; v++) max = Math.max(max, logits[row + v]);
        double sum = 0;
        for (int v = 0; v < vocab; v++) sum += Math.exp(logits[row + v] - max);
        logLikelihood += logits[row + response[j]] - max - Math.log(sum);
      }
      double head = values[sequence.length - 1];

      // The same pair inside a batch whose other row pads it on both sides.
      var batch =
          ScoringBatch.of(m, List.of(otherPrompt, prompt), List.of(otherResponse, response));
      // InstructGPT's reward: the scalar head at the last token, padding on both sides or not
      float[] scores = Gpt.withoutGradient(() -> model.rewardScores(batch)).toFloatArray();
      assertThat((double) scores[1]).isCloseTo(head, org.assertj.core.data.Offset.offset(1e-5));
      // the likelihood term's log π(y | x), summed over the response
      float[] likelihood =
          Gpt.withoutGradient(() -> model.sequenceLogLikelihood(batch)).toFloatArray();
      assertThat((double) likelihood[1])
          .isCloseTo(logLikelihood, org.assertj.core.data.Offset.offset(1e-4));
      var weighted = new RewardModel(model, model, 0.7);
      float[] combined = Gpt.withoutGradient(() -> weighted.scores(batch)).toFloatArray();
      assertThat((double) combined[1])
          .isCloseTo(head + 0.7 * logLikelihood, org.assertj.core.data.Offset.offset(1e-4));
    }
  }

  @Test
  void theLikelihoodTermReadFromTheReferencesTokenScoresIsTheSameScore() {
    var prompts =
        List.of(ByteTokenizer.encode("Reverse abc.\n"), ByteTokenizer.encode("Add 2 3.\n"));
    var responses =
        List.of(new int[] {'c', 'b', 'a', ByteTokenizer.EOS}, ByteTokenizer.encode("5 is ok"));
    try (NDManager m = NDManager.newBaseManager();
        var head = Gpt.create(SHAPE, 11);
        var other = Gpt.create(SHAPE, 13)) {
      var batch = ScoringBatch.of(m, prompts, responses);
      var reward = new RewardModel(head, model, 0.7);
      float[] own = Gpt.withoutGradient(() -> reward.scores(batch)).toFloatArray();
      // the SFT model's scores at temperature 1, as a rollout actor computes them for the KL
      float[] reused =
          Gpt.withoutGradient(() -> reward.scores(batch, model, model.score(batch, 1f)))
              .toFloatArray();
      assertThat(reused).containsExactly(own);
      // the score is head + w·Σ log π_SFT over the response's real tokens, summed here in Java
      var sftScores = Gpt.withoutGradient(() -> model.score(batch, 1f));
      float[] logProbs = sftScores.logProbs().toFloatArray();
      float[] mask =
          sftScores.mask().toType(ai.djl.ndarray.types.DataType.FLOAT32, false).toFloatArray();
      float[] headScores = Gpt.withoutGradient(() -> head.rewardScores(batch)).toFloatArray();
      int width = logProbs.length / prompts.size();
      for (int b = 0; b < prompts.size(); b++) {
        double likelihood = 0;
        for (int t = 0; t < width; t++) likelihood += mask[b * width + t] * logProbs[b * width + t];
        assertThat(likelihood).isLessThan(0);
        assertThat((double) own[b])
            .as("row %d", b)
            .isCloseTo(headScores[b] + 0.7 * likelihood, within(1e-4));
      }
      // scores from a model the reward does not read are ignored, not summed in
      float[] fromOther =
          Gpt.withoutGradient(() -> reward.scores(batch, other, other.score(batch, 1f)))
              .toFloatArray();
      assertThat(fromOther).containsExactly(own);
      assertThat(own[0]).isNotEqualTo(headScores[0]);
    }
  }

  static NDArray tokens(NDManager m, List<int[]> rows, int width) {
    long[] out = new long[rows.size() * width];
    java.util.Arrays.fill(out, ByteTokenizer.PAD);
    for (int r = 0; r < rows.size(); r++) {
      int[] row = rows.get(r);
      for (int i = 0; i < row.length; i++) {
        out[r * width + width - row.length + i] = row[i];
      }
    }
    return m.create(out, new Shape(rows.size(), width));
  }

  static NDArray mask(NDManager m, List<int[]> rows, int width) {
    boolean[] out = new boolean[rows.size() * width];
    for (int r = 0; r < rows.size(); r++) {
      for (int i = width - rows.get(r).length; i < width; i++) {
        out[r * width + i] = true;
      }
    }
    return m.create(out, new Shape(rows.size(), width));
  }
}
