package io.streamrlhf.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * An in-flight weight swap (PipelineRL): the policy moves from v0 to v1 between two decode steps of
 * one batch, the KV cache kept. Every token must be tagged with the version that sampled it, and
 * its behaviour log-prob must be what that version computes, token by token.
 */
class InFlightSwapTest {
  private static final GptConfig SHAPE = new GptConfig(ByteTokenizer.VOCAB_SIZE, 48, 32, 2, 4);
  private static final List<int[]> PROMPTS =
      List.of(ByteTokenizer.encode("Q: 2+2?"), ByteTokenizer.encode("Hi"));
  private static final long[] SEEDS = {41, 42};
  private static final int NEW_TOKENS = 10;

  /** Logits of token SWAP onwards are computed by v1: the swap happens before decode step 3. */
  private static final int SWAP = 3;

  private static Gpt v0;
  private static Gpt v1;

  @BeforeAll
  static void createModels() {
    v0 = Gpt.create(SHAPE, 11);
    v1 = Gpt.create(SHAPE, 12);
  }

  @AfterAll
  static void closeModels() {
    v0.close();
    v1.close();
  }

  @Test
  void aBatchThatStraddlesASwapTagsBothVersionsAndItsLogProbsAreTheTaggedVersions() {
    var next = v1.snapshot(1);
    List<Generator.Completion> completions;
    try (var sampler = Gpt.create(SHAPE, 11)) { // v0's weights, swapped to v1 mid-batch
      completions =
          new Generator(sampler)
              .generate(
                  PROMPTS,
                  new Generator.Sampling(NEW_TOKENS, 1f, 0, 0),
                  SEEDS,
                  step -> {
                    if (step == SWAP) sampler.load(next); // forced, at a chosen step
                    return step < SWAP ? 0 : 1;
                  });
    }
    int straddling = 0;
    for (int row = 0; row < PROMPTS.size(); row++) {
      var c = completions.get(row);
      int n = c.tokens().length;
      var expected = new long[n];
      for (int t = 0; t < n; t++) expected[t] = t < SWAP ? 0 : 1;
      assertThat(c.tokenVersions()).as("row %d's token versions", row).containsExactly(expected);
      if (n <= SWAP) continue;
      straddling++;

      // before the swap: exactly v0's log-probs, from an ordinary forward pass
      var underV0 = scored(v0, PROMPTS.get(row), c.tokens());
      for (int t = 0; t < SWAP; t++) {
        assertThat(c.behaviourLogProbs()[t])
            .as("v0 token %d", t)
            .isCloseTo(underV0[t], within(1e-4f));
      }
      // after it: v1's weights over a cache whose earlier slots v0 filled, recomputed as one chunk
      var underV1 = afterSwap(PROMPTS.get(row), c.tokens());
      boolean moved = false;
      for (int t = SWAP; t < n; t++) {
        assertThat(c.behaviourLogProbs()[t])
            .as("v1 token %d", t)
            .isCloseTo(underV1[t], within(1e-4f));
        moved |= Math.abs(underV1[t] - underV0[t]) > 1e-2;
      }
      assertThat(moved).as("the swap changed row %d's distribution", row).isTrue();
    }
    assertThat(straddling).as("rows that outlived the swap").isPositive();
  }

  @Test
  void withoutASwapEveryTokenCarriesTheOneVersion() {
    var completions =
        new Generator(v0)
            .generate(
                PROMPTS,
                new Generator.Sampling(NEW_TOKENS, 1f, 0, 0),
                SEEDS,
                Generator.Versions.fixed(7));
    for (var c : completions) {
      assertThat(c.tokenVersions()).hasSameSizeAs(c.tokens()).containsOnly(7L);
    }
  }

  /** log π(token t) for every response token, by {@link Gpt#score} (no cache, one version). */
  private static float[] scored(Gpt model, int[] prompt, int[] response) {
    return Gpt.withoutGradient(
        () -> {
          try (NDManager scope = NDManager.newBaseManager("PyTorch")) {
            var batch = ScoringBatch.of(scope, List.of(prompt), List.of(response));
            return Arrays.copyOf(model.score(batch, 1f).logProbs().toFloatArray(), response.length);
          }
        });
  }

  /**
   * What the in-flight sampler computed for tokens SWAP.., recomputed another way: v0 runs the
   * prompt and the tokens it fed (responses 0..SWAP−2) as one chunk into a fresh cache, then v1
   * runs the rest as one chunk over that cache. Token t's log-prob is then v1's, seen through v0's
   * keys and values for the positions v0 fed: PipelineRL's accepted approximation, exactly.
   */
  private static float[] afterSwap(int[] prompt, int[] response) {
    return Gpt.withoutGradient(
        () -> {
          try (NDManager scope = NDManager.newBaseManager("PyTorch")) {
            int p = prompt.length;
            int slots = p + response.length - 1; // the last token is never fed
            var all = new long[slots];
            for (int i = 0; i < p; i++) all[i] = prompt[i];
            for (int i = 0; i < response.length - 1; i++) all[p + i] = response[i];
            var keyMask =
                scope
                    .ones(new Shape(1, slots))
                    .toType(ai.djl.ndarray.types.DataType.BOOLEAN, false);
            var cache = new KvCache(v0, scope, keyMask, p);
            int v0Fed = p + SWAP - 1;
            chunk(v0, scope, all, keyMask, cache, 0, v0Fed);
            var hidden = chunk(v1, scope, all, keyMask, cache, v0Fed, slots - v0Fed);
            float[] logits = v1.logits(hidden).toFloatArray();
            int vocab = SHAPE.vocabSize();
            var out = new float[response.length];
            for (int q = 0; q < slots - v0Fed; q++) {
              int t = SWAP + q; // query slot v0Fed + q predicts response token SWAP + q
              out[t] = logSoftmaxAt(logits, q * vocab, vocab, response[t]);
            }
            return out;
          }
        });
  }

  private static ai.djl.pytorch.engine.PtNDArray chunk(
      Gpt model,
      NDManager scope,
      long[] all,
      ai.djl.ndarray.NDArray keyMask,
      KvCache cache,
      int from,
      int count) {
    var tokens = scope.create(Arrays.copyOfRange(all, from, from + count), new Shape(1, count));
    var positions =
        scope
            .arange(from, from + count)
            .toType(ai.djl.ndarray.types.DataType.INT64, false)
            .reshape(1, count);
    return model.trunk(
        tokens, positions, model.attentionBias(scope, keyMask, from, count), cache, from);
  }

  private static float logSoftmaxAt(float[] logits, int offset, int vocab, int token) {
    double max = Double.NEGATIVE_INFINITY;
    for (int i = 0; i < vocab; i++) max = Math.max(max, logits[offset + i]);
    double sum = 0;
    for (int i = 0; i < vocab; i++) sum += Math.exp(logits[offset + i] - max);
    return (float) (logits[offset + token] - max - Math.log(sum));
  }
}
