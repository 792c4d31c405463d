package io.streamrlhf.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDManager;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class GenerationTest {

  private static final GptConfig SHAPE = new GptConfig(ByteTokenizer.VOCAB_SIZE, 48, 32, 2, 4);
  private static final List<int[]> PROMPTS =
      List.of(
          ByteTokenizer.encode("Q: 2+2?"),
          ByteTokenizer.encode("Hi"),
          ByteTokenizer.encode("A much longer prompt here"),
          ByteTokenizer.encode("é"));
  private static Gpt model;

  /** The same model nudged to end sequences: p(EOS) is about 6% per step. */
  private static Gpt eosProne;

  @BeforeAll
  static void createModels() {
    model = Gpt.create(SHAPE, 11);
    eosProne = Gpt.create(SHAPE, 11);
    // ln_f's output gains a constant 0.3 in every dimension; EOS's embedding row is that same
    // direction, so EOS's logit rises by 0.3 · 0.3 · d_model ≈ 2.9 at every position.
    float[] constant = new float[SHAPE.dModel()];
    java.util.Arrays.fill(constant, 0.3f);
    eosProne.parameters().get("ln_f.bias").set(constant);
    var embedding = eosProne.parameters().get("tok_emb");
    embedding.set(
        new ai.djl.ndarray.index.NDIndex("{}", ByteTokenizer.EOS),
        embedding.getManager().create(constant));
  }

  @AfterAll
  static void closeModels() {
    model.close();
    eosProne.close();
  }

  @Test
  void kvCacheMatchesFullRecomputation() {
    // eight rows, so that half of them end while the rest sample on and the cache drops them
    var prompts = new ArrayList<int[]>(PROMPTS);
    prompts.addAll(PROMPTS);
    var sampling = new Generator.Sampling(20, 1.0f, 0, 5);
    List<int[]> cachedRows = new ArrayList<>();
    List<float[]> cached = new ArrayList<>();
    List<float[]> recomputed = new ArrayList<>();
    var withCache =
        new Generator(eosProne)
            .generate(
                prompts,
                sampling,
                true,
                (step, rows, logits) -> {
                  cachedRows.add(rows.clone());
                  cached.add(logits.clone());
                });
    var withoutCache =
        new Generator(eosProne)
            .generate(
                prompts, sampling, false, (step, rows, logits) -> recomputed.add(logits.clone()));

    // Rows of mixed prompt lengths, some stopping early: the batch runs on for the others, and
    // the cached path computes fewer rows once half have ended.
    assertThat(withCache).anyMatch(Generator.Completion::terminated);
    assertThat(withCache).anyMatch(c -> c.tokens().length > 10);
    assertThat(cachedRows.get(cachedRows.size() - 1).length)
        .isLessThanOrEqualTo(prompts.size() / 2);
    assertThat(cached).hasSizeGreaterThan(10).hasSameSizeAs(recomputed);
    int vocab = SHAPE.vocabSize();
    for (int step = 0; step < cached.size(); step++) {
      int[] rows = cachedRows.get(step);
      float[] a = cached.get(step);
      float[] b = recomputed.get(step);
      assertThat(a).hasSize(rows.length * vocab);
      float maxDiff = 0;
      for (int i = 0; i < rows.length; i++) {
        for (int v = 0; v < vocab; v++) {
          maxDiff = Math.max(maxDiff, Math.abs(a[i * vocab + v] - b[rows[i] * vocab + v]));
        }
      }
      assertThat(maxDiff).as("step %d", step).isLessThanOrEqualTo(1e-4f);
    }
    for (int row = 0; row < prompts.size(); row++) {
      assertThat(withCache.get(row).tokens()).isEqualTo(withoutCache.get(row).tokens());
    }
    // The logits move from step to step: equal logits are not trivially equal.
    assertThat(cached.get(0)[0]).isNotEqualTo(cached.get(1)[0]);
  }

  @Test
  void padAndReservedTokensAreNeverSampledHoweverLargeTheirLogits() {
    // eosProne's trick, far stronger, on PAD and the reserved ids: their embedding rows share
    // ln_f's constant output direction, so without the output bias they would take nearly all
    // the mass (logit +0.3 · 3 · d_model ≈ 43 above the rest at every position).
    float[] constant = new float[SHAPE.dModel()];
    java.util.Arrays.fill(constant, 0.3f);
    float[] row = new float[SHAPE.dModel()];
    java.util.Arrays.fill(row, 3f);
    try (var padProne = Gpt.create(SHAPE, 11)) {
      padProne.parameters().get("ln_f.bias").set(constant);
      var embedding = padProne.parameters().get("tok_emb");
      for (int token = ByteTokenizer.PAD; token < ByteTokenizer.VOCAB_SIZE; token++) {
        embedding.set(
            new ai.djl.ndarray.index.NDIndex("{}", token), embedding.getManager().create(row));
      }
      var completions =
          new Generator(padProne).generate(PROMPTS, new Generator.Sampling(20, 1.5f, 0, 7));
      var drawn = new ArrayList<Integer>();
      for (var completion : completions) {
        for (int token : completion.tokens()) drawn.add(token);
      }
      assertThat(drawn)
          .hasSizeGreaterThan(PROMPTS.size())
          .allMatch(token -> token <= ByteTokenizer.EOS);
      // the training loss sees the same distribution: PAD's log-probability is the bias itself
      try (NDManager m = NDManager.newBaseManager()) {
        var tokens = m.create(new long[][] {{72, 105}});
        var logProbs = padProne.forward(tokens, m.ones(tokens.getShape())).logits().logSoftmax(-1);
        float[] last = logProbs.get("0, 1").toFloatArray();
        assertThat(last[ByteTokenizer.PAD]).isLessThan(Gpt.NEVER_EMITTED / 2);
        assertThat(last[ByteTokenizer.VOCAB_SIZE - 1]).isLessThan(Gpt.NEVER_EMITTED / 2);
        assertThat(last['i']).isGreaterThan(-20f);
      }
    }
  }

  @Test
  void samplingIsReproducibleForASeedAndStopsAtEos() {
    var sampling = new Generator.Sampling(20, 1f, 0, 99);
    var first = new Generator(eosProne).generate(PROMPTS, sampling);
    var second = new Generator(eosProne).generate(PROMPTS, sampling);
    var other = new Generator(eosProne).generate(PROMPTS, new Generator.Sampling(20, 1f, 0, 100));
    assertThat(first).anyMatch(Generator.Completion::terminated);
    boolean anyDifferent = false;
    for (int row = 0; row < PROMPTS.size(); row++) {
      assertThat(first.get(row).tokens()).isEqualTo(second.get(row).tokens());
      anyDifferent |= !java.util.Arrays.equals(first.get(row).tokens(), other.get(row).tokens());
      var c = first.get(row);
      assertThat(c.behaviourLogProbs()).hasSameSizeAs(c.tokens());
      for (int i = 0; i < c.tokens().length - 1; i++) {
        assertThat(c.tokens()[i]).isNotEqualTo(ByteTokenizer.EOS);
      }
      if (c.terminated()) {
        assertThat(c.tokens()[c.tokens().length - 1]).isEqualTo(ByteTokenizer.EOS);
      } else {
        assertThat(c.tokens()).hasSize(20);
      }
    }
    assertThat(anyDifferent).isTrue();
  }

  @Test
  void topKOneIsGreedyWithCertainty() {
    var greedy = new Generator(model).generate(PROMPTS, new Generator.Sampling(8, 1f, 1, 3));
    var greedyOtherSeed =
        new Generator(model).generate(PROMPTS, new Generator.Sampling(8, 1f, 1, 4));
    for (int row = 0; row < PROMPTS.size(); row++) {
      assertThat(greedy.get(row).tokens()).isEqualTo(greedyOtherSeed.get(row).tokens());
      for (float lp : greedy.get(row).behaviourLogProbs()) {
        assertThat(lp).isEqualTo(0f);
      }
    }
  }

  @Test
  void behaviourLogProbsEqualScoredLogProbs() {
    float temperature = 0.8f;
    var completions =
        new Generator(model).generate(PROMPTS, new Generator.Sampling(20, temperature, 0, 21));
    List<int[]> responses = completions.stream().map(Generator.Completion::tokens).toList();
    try (NDManager m = NDManager.newBaseManager()) {
      var batch = ScoringBatch.of(m, PROMPTS, responses);
      var scores = Gpt.withoutGradient(() -> model.score(batch, temperature));
      float[] scored = scores.logProbs().toFloatArray();
      float[] mask = scores.mask().toFloatArray();
      int width = batch.responseWidth();
      int compared = 0;
      for (int row = 0; row < PROMPTS.size(); row++) {
        float[] behaviour = completions.get(row).behaviourLogProbs();
        for (int j = 0; j < width; j++) {
          assertThat(mask[row * width + j]).isEqualTo(j < behaviour.length ? 1f : 0f);
          if (j < behaviour.length) {
            assertThat(scored[row * width + j])
                .as("row %d token %d", row, j)
                .isCloseTo(behaviour[j], org.assertj.core.data.Offset.offset(1e-4f));
            compared++;
          }
        }
      }
      assertThat(compared).isGreaterThan(PROMPTS.size());
      // Entropy of a distribution over 260 tokens lies in [0, ln 260].
      for (float h : scores.entropy().toFloatArray()) {
        assertThat(h).isBetween(0f, (float) Math.log(260) + 1e-4f);
      }
    }
  }

  @Test
  void tooLongRequestFailsWithClearMessage() {
    assertThatThrownBy(
            () -> new Generator(model).generate(PROMPTS, new Generator.Sampling(40, 1f, 0, 1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("exceeds the context length 48");
  }
}
