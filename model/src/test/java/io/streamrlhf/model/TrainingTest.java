package io.streamrlhf.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import java.util.List;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class TrainingTest {

  private static final List<int[]> PROMPTS =
      List.of(ByteTokenizer.encode("ab"), ByteTokenizer.encode("c"));
  private static final List<int[]> RESPONSES =
      List.of(ByteTokenizer.encode("xyz"), ByteTokenizer.encode("q"));

  /** A loss touching every head: log-probs, entropy and values, each with fixed weights. */
  private static NDArray probeLoss(Gpt model, NDManager m) {
    var batch = ScoringBatch.of(m, PROMPTS, RESPONSES);
    var scores = model.score(batch, 0.7f);
    var mask = batch.responseMask().toType(model.dataType(), false);
    var weights =
        m.create(new double[] {0.3, -1.1, 0.7, 0.5, 0.9, -0.2}, batch.responseMask().getShape())
            .toType(model.dataType(), false);
    return scores
        .logProbs()
        .mul(weights)
        .add(scores.entropy().mul(0.4))
        .add(scores.values().square().mul(weights))
        .mul(mask)
        .sum()
        .add(
            model
                .rewardScores(batch)
                .mul(m.create(new double[] {1.3, -0.6}).toType(model.dataType(), false))
                .sum());
  }

  @Test
  void autogradMatchesCentralFiniteDifferences() {
    var shape = new GptConfig(ByteTokenizer.VOCAB_SIZE, 8, 8, 1, 2);
    try (var model = Gpt.create(shape, 3, ComputeDevice.CPU, DataType.FLOAT64);
        NDManager m = NDManager.newBaseManager()) {
      model.requireGradients();
      model.zeroGradients();
      try (var collector = Engine.getEngine("PyTorch").newGradientCollector()) {
        collector.backward(probeLoss(model, m));
      }
      Function<Void, Double> loss =
          ignored ->
              Gpt.withoutGradient(
                  () -> {
                    try (NDManager scope = m.newSubManager()) {
                      return probeLoss(model, scope).getDouble();
                    }
                  });
      // (parameter, flat index): every kind of parameter on the path to the loss.
      record Probe(String name, int index) {}
      var probes =
          List.of(
              new Probe("tok_emb", 'x' * 8 + 3),
              new Probe("tok_emb", 200 * 8 + 1), // tied output row of a byte the text never holds
              new Probe("pos_emb", 2 * 8 + 5),
              new Probe("h.0.ln1.weight", 4),
              new Probe("h.0.attn.qkv.weight", 3), // a query weight
              new Probe("h.0.attn.qkv.weight", 8 * 8 + 10), // a key weight
              new Probe("h.0.attn.qkv.weight", 16 * 8 + 7), // a value weight
              new Probe("h.0.attn.proj.bias", 6),
              new Probe("h.0.mlp.fc.weight", 100),
              new Probe("h.0.mlp.proj.weight", 200),
              new Probe("ln_f.bias", 2),
              new Probe("scalar_head.weight", 5),
              new Probe("scalar_head.bias", 0));
      double eps = 1e-6;
      for (var probe : probes) {
        NDArray parameter = model.parameters().get(probe.name());
        double analytic;
        try (var gradient = parameter.getGradient()) {
          analytic = gradient.toDoubleArray()[probe.index()];
        }
        double[] values = parameter.toDoubleArray();
        double original = values[probe.index()];
        values[probe.index()] = original + eps;
        parameter.set(values);
        double plus = loss.apply(null);
        values[probe.index()] = original - eps;
        parameter.set(values);
        double minus = loss.apply(null);
        values[probe.index()] = original;
        parameter.set(values);
        double numeric = (plus - minus) / (2 * eps);
        assertThat(Math.abs(analytic))
            .as("%s[%d] gradient is not trivially zero", probe.name(), probe.index())
            .isGreaterThan(1e-6);
        assertThat(analytic)
            .as("%s[%d]", probe.name(), probe.index())
            .isCloseTo(numeric, within(1e-6 + 1e-5 * Math.abs(numeric)));
      }
      // PAD's tied output row gets no gradient: its logit is biased out of every softmax
      try (var gradient = model.parameters().get("tok_emb").getGradient()) {
        double[] rows = gradient.toDoubleArray();
        for (int i = 0; i < 8; i++) {
          assertThat(rows[ByteTokenizer.PAD * 8 + i]).as("PAD row [%d]", i).isZero();
        }
      }
    }
  }

  @ParameterizedTest(name = "max norm {0} x the gradient's")
  @ValueSource(doubles = {1.0 / 3, 3})
  void adamWStepMatchesHandComputedUpdateWithDecoupledDecayClippedOrNot(double maxNormShare) {
    var shape = new GptConfig(ByteTokenizer.VOCAB_SIZE, 8, 8, 1, 2);
    var hyper = new AdamW.Hyperparameters(0.8, 0.9, 1e-3, 0.5);
    try (var model = Gpt.create(shape, 5, ComputeDevice.CPU, DataType.FLOAT64);
        var optimizer = new AdamW(model, hyper);
        NDManager m = NDManager.newBaseManager()) {
      float lr = 0.05f;
      double[][] expected = new double[2][];
      String[] names = {"h.0.mlp.fc.weight", "h.0.mlp.fc.bias"};
      double[][] m1 = new double[2][];
      double[][] v1 = new double[2][];
      double totalNorm = 0;
      for (int step = 1; step <= 2; step++) {
        try (var collector = Engine.getEngine("PyTorch").newGradientCollector()) {
          collector.backward(probeLoss(model, m));
        }
        double[][] grads = new double[2][];
        double[][] before = new double[2][];
        double sumSquares = 0;
        for (var p : model.parameters().values()) {
          try (var g = p.getGradient()) {
            double n = g.norm().getDouble();
            sumSquares += n * n;
          }
        }
        totalNorm = Math.sqrt(sumSquares);
        // 1/3: clipping active, gradients scaled by ~1/3; 3: under the cap, left as they are
        float maxNorm = (float) (totalNorm * maxNormShare);
        double clip = Math.min(1, maxNorm / (totalNorm + 1e-6));
        for (int k = 0; k < 2; k++) {
          try (var g = model.parameters().get(names[k]).getGradient()) {
            grads[k] = g.toDoubleArray();
          }
          before[k] = model.parameters().get(names[k]).toDoubleArray();
          if (step == 1) {
            m1[k] = new double[grads[k].length];
            v1[k] = new double[grads[k].length];
          }
          double decay = k == 0 ? hyper.weightDecay() : 0;
          double correction = Math.sqrt(1 - Math.pow(0.9, step)) / (1 - Math.pow(0.8, step));
          expected[k] = new double[grads[k].length];
          for (int i = 0; i < grads[k].length; i++) {
            double g = grads[k][i] * clip;
            double w = before[k][i] - lr * decay * before[k][i];
            m1[k][i] = 0.8 * m1[k][i] + 0.2 * g;
            v1[k][i] = 0.9 * v1[k][i] + 0.1 * g * g;
            expected[k][i] = w - lr * correction * m1[k][i] / (Math.sqrt(v1[k][i]) + 1e-3);
          }
        }
        float reported = optimizer.step(lr, maxNorm);
        assertThat((double) reported).isCloseTo(totalNorm, within(1e-4 * totalNorm));
        for (int k = 0; k < 2; k++) {
          double[] actual = model.parameters().get(names[k]).toDoubleArray();
          for (int i = 0; i < actual.length; i++) {
            assertThat(actual[i])
                .as("%s[%d] after step %d", names[k], i, step)
                .isCloseTo(expected[k][i], within(1e-5));
          }
        }
      }
      assertThat(optimizer.stepCount()).isEqualTo(2);
    }
  }

  @Test
  void tinyModelOverfitsEightStrings() {
    List<String> texts =
        List.of(
            "the cat sat on the mat",
            "hello, world",
            "RLHF on the JVM",
            "Grüße aus Köln",
            "2 + 2 = 4",
            "stream the rollouts",
            "kv cache hits",
            "adamw with decay");
    // Prompt = first byte, response = the rest + EOS: the loss covers every later token.
    List<int[]> prompts = texts.stream().map(t -> new int[] {ByteTokenizer.encode(t)[0]}).toList();
    List<int[]> responses =
        texts.stream()
            .map(
                t -> {
                  int[] all = ByteTokenizer.withEos(ByteTokenizer.encode(t));
                  return java.util.Arrays.copyOfRange(all, 1, all.length);
                })
            .toList();
    try (var model = Gpt.create(GptConfig.tiny(), 1);
        var optimizer = new AdamW(model, AdamW.Hyperparameters.defaults());
        NDManager m = NDManager.newBaseManager()) {
      float first = Float.NaN;
      float last = Float.NaN;
      // Stop once there: beyond, gradients shrink into float32 denormals, which x86 runs ~100x
      // slower, and DJL does not expose torch.set_flush_denormal.
      for (int step = 0; step < 80 && !(last < 0.1f * first); step++) {
        try (NDManager scope = m.newSubManager();
            var collector = Engine.getEngine("PyTorch").newGradientCollector()) {
          var batch = ScoringBatch.of(scope, prompts, responses);
          var loss = batch.maskedMean(model.score(batch, 1f).logProbs()).neg();
          collector.backward(loss);
          last = loss.getFloat();
        }
        if (step == 0) {
          first = last;
        }
        optimizer.step(3e-3f, 1.0f);
      }
      assertThat(first).isCloseTo((float) Math.log(260), within(0.3f));
      assertThat(last).isLessThan(0.1f * first);
    }
  }
}
