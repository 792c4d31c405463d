package io.streamrlhf.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.djl.engine.Engine;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class AdamWTest {
  static final GptConfig MINI = new GptConfig(ByteTokenizer.VOCAB_SIZE, 16, 8, 1, 2);

  /** Gradients of the LM loss on a fixed window, left on the parameters; returns them as arrays. */
  static Map<String, float[]> backward(Gpt model) {
    model.zeroGradients();
    int[] window = {72, 101, 108, 108, 111, 10, 256, 65};
    try (var scope = model.parameters().get("tok_emb").getManager().newSubManager();
        var collector = Engine.getEngine("PyTorch").newGradientCollector()) {
      // pretraining's next-token loss: the first token as the prompt, the mean NLL of the rest
      var batch =
          ScoringBatch.of(
              scope,
              List.of(Arrays.copyOf(window, 1)),
              List.of(Arrays.copyOfRange(window, 1, window.length)));
      collector.backward(model.score(batch, 1f).logProbs().mean().neg());
    }
    var grads = new HashMap<String, float[]>();
    for (var e : model.parameters().entrySet()) {
      try {
        grads.put(e.getKey(), e.getValue().getGradient().toFloatArray());
      } catch (IllegalStateException noGradient) {
        grads.put(e.getKey(), new float[(int) e.getValue().getShape().size()]);
      }
    }
    return grads;
  }

  @Test
  void firstStepMovesEveryWeightByTheLearningRateAgainstItsGradientSign() {
    try (var model = Gpt.create(MINI, 3)) {
      model.requireGradients();
      var before = new HashMap<String, float[]>();
      model.parameters().forEach((k, v) -> before.put(k, v.toFloatArray()));
      var grads = backward(model);
      double squares = 0;
      for (var g : grads.values()) for (float x : g) squares += (double) x * x;
      try (var adam = new AdamW(model, new AdamW.Settings(0.9, 0.95, 0.0, 0.1))) {
        double norm = adam.step(0.01);
        // the returned norm is the unclipped global norm; with bias correction, step 1 is
        // lr·g/(|g|+ε)
        // whatever the clipping scale, so it is lr·sign(g) wherever the clipped |g| >> ε
        assertThat(norm)
            .isCloseTo(Math.sqrt(squares), within(1e-4 * Math.sqrt(squares)))
            .isGreaterThan(0.1); // so clipping acts
        int checked = 0;
        for (var e : model.parameters().entrySet()) {
          var after = e.getValue().toFloatArray();
          var g = grads.get(e.getKey());
          var p = before.get(e.getKey());
          for (int i = 0; i < p.length; i++) {
            double clipped = Math.abs(g[i]) * Math.min(1, 0.1 / norm);
            if (clipped > 1e-4) {
              assertThat((double) after[i])
                  .isCloseTo(p[i] - 0.01 * Math.signum(g[i]), within(2e-5));
              checked++;
            } else if (g[i] == 0) {
              assertThat(after[i]).isEqualTo(p[i]);
            }
          }
        }
        assertThat(checked).isGreaterThan(50);
      }
    }
  }

  @Test
  void stateIsStandardSafetensorsAndResumesTheSameSteps() {
    try (var model = Gpt.create(MINI, 3);
        var copy = Gpt.create(MINI, 4)) {
      model.requireGradients();
      copy.requireGradients();
      try (var adam = new AdamW(model, new AdamW.Settings(0.9, 0.95, 0.1, 1.0))) {
        for (int i = 0; i < 2; i++) {
          backward(model);
          adam.step(0.01);
        }
        var state = parts(adam.state());
        assertThat(state).extracting(WeightSnapshot::version).containsExactly(2L, 2L);
        // DJL reads it back: each moment of every parameter, by PyTorch's names, first moments in
        // the first snapshot and second in the second, not all zero
        try (var scope = ai.djl.ndarray.NDManager.newBaseManager()) {
          var first = ai.djl.ndarray.NDList.decode(scope, state.get(0).safetensors());
          var second = ai.djl.ndarray.NDList.decode(scope, state.get(1).safetensors());
          assertThat(first).hasSize(model.parameters().size());
          assertThat(second).hasSize(model.parameters().size());
          for (var e : model.parameters().entrySet()) {
            assertThat(first.get("exp_avg." + e.getKey()).getShape())
                .isEqualTo(e.getValue().getShape());
            assertThat(second.get("exp_avg_sq." + e.getKey()).getShape())
                .isEqualTo(e.getValue().getShape());
          }
          assertThat(second.get("exp_avg_sq.tok_emb").max().getFloat()).isGreaterThan(0f);
        }
        // a second optimiser restored from it, on the same weights, takes the same next step
        copy.load(model.snapshot(0));
        try (var resumed = new AdamW(copy, new AdamW.Settings(0.9, 0.95, 0.1, 1.0))) {
          resumed.restore(List.of(state.get(1), state.get(0)));
          backward(model);
          backward(copy);
          adam.step(0.01);
          resumed.step(0.01);
          for (var e : model.parameters().entrySet()) {
            assertThat(copy.parameters().get(e.getKey()).toFloatArray())
                .as(e.getKey())
                .containsExactly(e.getValue().toFloatArray());
          }
          assertSamePayloads(resumed.state(), parts(adam.state()));
        }
      }
    }
  }

  @Test
  void restoresBothMomentsFromOneSnapshotAndNamesWhatIsMissing() {
    // checkpoints once held both moments in one snapshot; they still resume
    try (var model = Gpt.create(MINI, 3)) {
      model.requireGradients();
      try (var adam = new AdamW(model, new AdamW.Settings(0.9, 0.95, 0.1, 1.0))) {
        backward(model);
        adam.step(0.01);
        var state = parts(adam.state());
        byte[] both;
        try (var scope = ai.djl.ndarray.NDManager.newBaseManager()) {
          var all = ai.djl.ndarray.NDList.decode(scope, state.get(0).safetensors());
          all.addAll(ai.djl.ndarray.NDList.decode(scope, state.get(1).safetensors()));
          both = all.encode(ai.djl.ndarray.NDList.Encoding.SAFETENSORS);
        }
        try (var resumed = new AdamW(model, new AdamW.Settings(0.9, 0.95, 0.1, 1.0))) {
          resumed.restore(List.of(new WeightSnapshot(1, both)));
          assertThat(resumed.stepCount()).isEqualTo(1);
          assertSamePayloads(resumed.state(), state);
          // the first moments alone leave the second unset: refused, not trained on
          assertThatThrownBy(() -> resumed.restore(List.of(state.get(0))))
              .isInstanceOf(IllegalArgumentException.class)
              .hasMessageContaining("exp_avg_sq.tok_emb is missing");
          assertThatThrownBy(() -> resumed.restore(List.of(state.get(0), state.get(0))))
              .hasMessageStartingWith("optimizer state holds exp_avg.")
              .hasMessageEndingWith(" in two parts");
          var later = new WeightSnapshot(7, state.get(1).safetensors());
          assertThatThrownBy(() -> resumed.restore(List.of(state.get(0), later)))
              .hasMessageContaining("parts of steps 1 and 7");
          // the state is encoded as it is iterated: after another step it would not be this one
          var stale = resumed.state();
          backward(model);
          resumed.step(0.01);
          assertThatThrownBy(() -> stale.iterator().next())
              .isInstanceOf(IllegalStateException.class)
              .hasMessageContaining("of step 1 read at 2");
        }
      }
    }
  }

  private static List<WeightSnapshot> parts(Iterable<WeightSnapshot> state) {
    var parts = new ArrayList<WeightSnapshot>();
    state.forEach(parts::add);
    return parts;
  }

  private static void assertSamePayloads(
      Iterable<WeightSnapshot> actualState, List<WeightSnapshot> expected) {
    var actual = parts(actualState);
    assertThat(actual).hasSameSizeAs(expected);
    for (int i = 0; i < expected.size(); i++) {
      assertThat(actual.get(i).safetensors()).isEqualTo(expected.get(i).safetensors());
    }
  }

  @Test
  void perParameterLearningRatesScaleEachParametersFirstStep() {
    try (var model = Gpt.create(MINI, 5)) {
      model.requireGradients();
      var before = new HashMap<String, float[]>();
      model.parameters().forEach((k, v) -> before.put(k, v.toFloatArray()));
      var grads = backward(model);
      try (var adam = new AdamW(model, new AdamW.Settings(0.9, 0.95, 0.0, 1e9))) {
        // the embedding at 0.02, the final norm's bias frozen, everything else at 0.005
        adam.step(name -> name.equals("tok_emb") ? 0.02 : name.equals("ln_f.bias") ? 0 : 0.005);
        for (var name : List.of("tok_emb", "ln_f.bias", "h.0.mlp.fc.weight")) {
          double lr = name.equals("tok_emb") ? 0.02 : name.equals("ln_f.bias") ? 0 : 0.005;
          var after = model.parameters().get(name).toFloatArray();
          var g = grads.get(name);
          var p = before.get(name);
          int moved = 0;
          for (int i = 0; i < p.length; i++) {
            if (Math.abs(g[i]) > 1e-4) { // step 1 is lr·sign(g) where |g| >> ε
              assertThat((double) after[i])
                  .as(name)
                  .isCloseTo(p[i] - lr * Math.signum(g[i]), within(2e-5));
              moved++;
            }
          }
          assertThat(moved).as(name).isPositive();
        }
      }
    }
  }

  @Test
  void decoupledWeightDecayShrinksMatricesButNotBiases() {
    try (var model = Gpt.create(MINI, 4)) {
      model.requireGradients();
      var emb = model.parameters().get("h.0.attn.proj.weight").toFloatArray();
      var bias = model.parameters().get("h.0.ln1.weight").toFloatArray();
      var grads = backward(model);
      try (var adam = new AdamW(model, new AdamW.Settings(0.9, 0.95, 0.5, 1.0))) {
        adam.step(0.1);
      }
      var g = grads.get("h.0.attn.proj.weight");
      var embAfter = model.parameters().get("h.0.attn.proj.weight").toFloatArray();
      for (int i = 0; i < emb.length; i++) {
        double expected =
            emb[i] * (1 - 0.1 * 0.5) - (Math.abs(g[i]) > 1e-4 ? 0.1 * Math.signum(g[i]) : 0);
        if (Math.abs(g[i]) > 1e-4 || g[i] == 0)
          assertThat((double) embAfter[i]).isCloseTo(expected, within(1e-4));
      }
      var gb = grads.get("h.0.ln1.weight");
      var biasAfter = model.parameters().get("h.0.ln1.weight").toFloatArray();
      for (int i = 0; i < bias.length; i++) {
        if (Math.abs(gb[i]) > 1e-4)
          assertThat((double) biasAfter[i])
              .isCloseTo(bias[i] - 0.1 * Math.signum(gb[i]), within(1e-4));
      }
    }
  }
}
