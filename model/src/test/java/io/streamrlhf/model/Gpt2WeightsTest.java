package io.streamrlhf.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * GPT-2-format weights read as our model: its logits on byte tokens equal an independent GPT-2
 * forward pass (plain double loops over the Hugging Face tensors, Conv1D layout, BPE ids from
 * GPT-2's own bytes_to_unicode) on a tiny random GPT-2.
 */
class Gpt2WeightsTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int D = 8;
  private static final int LAYERS = 2;
  private static final int HEADS = 2;
  private static final int POSITIONS = 16;

  @TempDir Path dir;

  /** GPT-2's bytes_to_unicode as encoder.py writes it: byte -> its token's position. */
  private static int[] bpeIdOfByte() {
    var bs = new ArrayList<Integer>();
    for (int b = '!'; b <= '~'; b++) bs.add(b);
    for (int b = 0xA1; b <= 0xAC; b++) bs.add(b);
    for (int b = 0xAE; b <= 0xFF; b++) bs.add(b);
    for (int b = 0; b < 256; b++) if (!bs.contains(b)) bs.add(b);
    var id = new int[256];
    for (int i = 0; i < 256; i++) id[bs.get(i)] = i;
    return id;
  }

  @Test
  void bytesMapToGpt2sSingleByteTokens() {
    var id = bpeIdOfByte();
    for (int b = 0; b < 256; b++)
      assertThat(Gpt2Weights.gpt2Token(b)).as("byte %d", b).isEqualTo(id[b]);
    // as GPT-2's tokenizer encodes them: "!" 0, "A" 32, "\n" 198, " " 220
    assertThat(Gpt2Weights.gpt2Token('!')).isZero();
    assertThat(Gpt2Weights.gpt2Token('A')).isEqualTo(32);
    assertThat(Gpt2Weights.gpt2Token('\n')).isEqualTo(198);
    assertThat(Gpt2Weights.gpt2Token(' ')).isEqualTo(220);
  }

  @Test
  void logitsOnBytesEqualAnIndependentGpt2Forward() throws IOException {
    var gpt2 = randomGpt2(Gpt2Weights.GPT2_VOCAB, 3, "transformer.");
    write(dir, gpt2, Gpt2Weights.GPT2_VOCAB, "F32");
    var text = ByteTokenizer.encode("Hi, \u00e9!\n");
    var id = bpeIdOfByte();
    var bpe = new int[text.length];
    for (int i = 0; i < text.length; i++) bpe[i] = id[text[i]];

    double[][] expected = naiveForward(gpt2, bpe, Gpt2Weights.GPT2_VOCAB);
    float[][] actual;
    try (var model = Gpt2Weights.load(dir)) {
      assertThat(model.config())
          .isEqualTo(new GptConfig(ByteTokenizer.VOCAB_SIZE, POSITIONS, D, LAYERS, HEADS));
      actual = logits(model, text);
    }

    double worst = 0;
    for (int t = 0; t < text.length; t++) {
      for (int b = 0; b < 256; b++)
        worst = Math.max(worst, Math.abs(actual[t][b] - expected[t][id[b]]));
      worst =
          Math.max(
              worst,
              Math.abs(actual[t][ByteTokenizer.EOS] - expected[t][Gpt2Weights.GPT2_END_OF_TEXT]));
      assertThat(actual[t][ByteTokenizer.PAD]).isEqualTo(Gpt.NEVER_EMITTED);
    }
    assertThat(worst).isLessThan(1e-4);
    // the weights are not so small that any two models would agree this closely
    assertThat(Math.abs(expected[2][id['x']] - expected[2][id['y']])).isGreaterThan(1e-2);
  }

  @Test
  void ourModelWrittenInGpt2FormatReadsBackToTheSameLogits() throws IOException {
    var shape = new GptConfig(ByteTokenizer.VOCAB_SIZE, POSITIONS, D, LAYERS, HEADS);
    var text = ByteTokenizer.encode("round trip");
    float[][] before;
    try (var model = Gpt.create(shape, 11)) {
      before = logits(model, text);
      Gpt2Weights.write(model, dir);
    }
    var header = Files.readString(dir.resolve(Gpt2Weights.WEIGHTS), StandardCharsets.ISO_8859_1);
    assertThat(header).contains("\"h.1.attn.c_attn.weight\":{\"dtype\":\"F32\",\"shape\":[8,24]");
    assertThat(Files.readString(dir.resolve(Gpt2Weights.CONFIG)))
        .contains("\"activation_function\" : \"gelu\"")
        .contains("\"eos_token_id\" : 256");
    try (var back = Gpt2Weights.load(dir)) {
      assertThat(back.config()).isEqualTo(shape);
      assertThat(logits(back, text)).isDeepEqualTo(before);
    }
  }

  @Test
  void halfPrecisionFilesReadAsTheirFloat32Values() throws IOException {
    var gpt2 = randomGpt2(ByteTokenizer.VOCAB_SIZE, 5, "");
    for (var values : gpt2.values()) {
      for (int i = 0; i < values.length; i++) values[i] = roundToHalf(values[i]);
    }
    var text = ByteTokenizer.encode("abc");
    var asF32 = dir.resolve("f32");
    var asF16 = dir.resolve("f16");
    write(asF32, gpt2, ByteTokenizer.VOCAB_SIZE, "F32");
    write(asF16, gpt2, ByteTokenizer.VOCAB_SIZE, "F16");
    try (var a = Gpt2Weights.load(asF32);
        var b = Gpt2Weights.load(asF16)) {
      assertThat(logits(b, text)).isDeepEqualTo(logits(a, text));
    }
    assertThat(Gpt2Weights.halfToFloat((short) 0x3C00)).isEqualTo(1f);
    assertThat(Gpt2Weights.halfToFloat((short) 0xC000)).isEqualTo(-2f);
    assertThat(Gpt2Weights.halfToFloat((short) 0x0001)).isEqualTo(0x1p-24f);
    assertThat(Gpt2Weights.halfToFloat((short) 0x7C00)).isEqualTo(Float.POSITIVE_INFINITY);
  }

  @Test
  void aModelThisImportWouldNotReproduceIsRefusedByName() throws IOException {
    var gpt2 = randomGpt2(ByteTokenizer.VOCAB_SIZE, 1, "");
    write(dir, gpt2, ByteTokenizer.VOCAB_SIZE, "F32");
    var config = dir.resolve(Gpt2Weights.CONFIG);
    var original = Files.readString(config);

    Files.writeString(config, original.replace("\"vocab_size\":260", "\"vocab_size\":32000"));
    assertThatThrownBy(() -> Gpt2Weights.load(dir))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("a vocabulary of 32000 tokens is neither GPT-2's byte-level BPE");
    Files.writeString(config, original.replace("\"n_embd\":8", "\"n_embd\":16"));
    assertThatThrownBy(() -> Gpt2Weights.load(dir))
        .hasMessageContaining("wte.weight is [260, 8], config.json makes it [any, 16]");
    Files.writeString(
        config,
        original.replace(
            "\"activation_function\":\"gelu_new\"", "\"activation_function\":\"relu\""));
    assertThatThrownBy(() -> Gpt2Weights.shape(dir))
        .hasMessageContaining("activation_function relu; this model's MLP uses GELU");
    Files.writeString(config, original.replace("\"n_head\":2", "\"n_head\":2,\"n_inner\":16"));
    assertThatThrownBy(() -> Gpt2Weights.shape(dir))
        .hasMessageContaining("n_inner 16; this model's MLP is 4 x n_embd wide");
    Files.writeString(config, original);

    gpt2.put("score.weight", new float[D]);
    write(dir, gpt2, ByteTokenizer.VOCAB_SIZE, "F32");
    assertThatThrownBy(() -> Gpt2Weights.load(dir))
        .hasMessageContaining("holds tensors a 2-layer GPT-2 has not: score.weight");
  }

  // ------------------------------------------------------------------ a tiny GPT-2, by hand

  /** Hugging Face GPT-2 tensors in Conv1D layout [in, out], random; {@code prefix} on each name. */
  private static Map<String, float[]> randomGpt2(int vocab, long seed, String prefix) {
    var rng = new Random(seed);
    var t = new LinkedHashMap<String, float[]>();
    t.put(prefix + "wte.weight", gaussian(rng, vocab * D, 0.5));
    t.put(prefix + "wpe.weight", gaussian(rng, POSITIONS * D, 0.3));
    for (int l = 0; l < LAYERS; l++) {
      String p = prefix + "h." + l + ".";
      t.put(p + "ln_1.weight", around1(rng, D));
      t.put(p + "ln_1.bias", gaussian(rng, D, 0.1));
      t.put(p + "attn.bias", new float[POSITIONS * POSITIONS]); // the causal-mask buffer
      t.put(p + "attn.c_attn.weight", gaussian(rng, D * 3 * D, 0.4));
      t.put(p + "attn.c_attn.bias", gaussian(rng, 3 * D, 0.1));
      t.put(p + "attn.c_proj.weight", gaussian(rng, D * D, 0.4));
      t.put(p + "attn.c_proj.bias", gaussian(rng, D, 0.1));
      t.put(p + "ln_2.weight", around1(rng, D));
      t.put(p + "ln_2.bias", gaussian(rng, D, 0.1));
      t.put(p + "mlp.c_fc.weight", gaussian(rng, D * 4 * D, 0.4));
      t.put(p + "mlp.c_fc.bias", gaussian(rng, 4 * D, 0.1));
      t.put(p + "mlp.c_proj.weight", gaussian(rng, 4 * D * D, 0.3));
      t.put(p + "mlp.c_proj.bias", gaussian(rng, D, 0.1));
    }
    t.put(prefix + "ln_f.weight", around1(rng, D));
    t.put(prefix + "ln_f.bias", gaussian(rng, D, 0.1));
    return t;
  }

  private static float[] gaussian(Random rng, int n, double std) {
    var v = new float[n];
    for (int i = 0; i < n; i++) v[i] = (float) (rng.nextGaussian() * std);
    return v;
  }

  private static float[] around1(Random rng, int n) {
    var v = gaussian(rng, n, 0.2);
    for (int i = 0; i < n; i++) v[i] += 1;
    return v;
  }

  /** The shape of each tensor, from its name. */
  private static long[] shapeOf(String name, int vocab) {
    name = name.replaceFirst("^transformer\\.", "");
    if (name.equals("wte.weight")) return new long[] {vocab, D};
    if (name.equals("wpe.weight")) return new long[] {POSITIONS, D};
    if (name.matches("h\\.\\d+\\.attn\\.bias")) return new long[] {1, 1, POSITIONS, POSITIONS};
    if (name.endsWith("c_attn.weight")) return new long[] {D, 3 * D};
    if (name.endsWith("c_attn.bias")) return new long[] {3 * D};
    if (name.endsWith("attn.c_proj.weight")) return new long[] {D, D};
    if (name.endsWith("c_fc.weight")) return new long[] {D, 4 * D};
    if (name.endsWith("c_fc.bias")) return new long[] {4 * D};
    if (name.endsWith("mlp.c_proj.weight")) return new long[] {4 * D, D};
    return new long[] {D};
  }

  /** config.json and model.safetensors as Hugging Face writes them. */
  private static void write(Path dir, Map<String, float[]> tensors, int vocab, String dtype)
      throws IOException {
    Files.createDirectories(dir);
    var config = new LinkedHashMap<String, Object>();
    config.put("model_type", "gpt2");
    config.put("vocab_size", vocab);
    config.put("n_positions", POSITIONS);
    config.put("n_embd", D);
    config.put("n_layer", LAYERS);
    config.put("n_head", HEADS);
    config.put("layer_norm_epsilon", 1e-5);
    config.put("activation_function", "gelu_new");
    Files.writeString(dir.resolve(Gpt2Weights.CONFIG), JSON.writeValueAsString(config));
    int width = dtype.equals("F32") ? 4 : 2;
    var header = new LinkedHashMap<String, Object>();
    header.put("__metadata__", Map.of("format", "pt"));
    long offset = 0;
    for (var e : tensors.entrySet()) {
      long bytes = (long) e.getValue().length * width;
      header.put(
          e.getKey(),
          Map.of(
              "dtype",
              dtype,
              "shape",
              shapeOf(e.getKey(), vocab),
              "data_offsets",
              List.of(offset, offset + bytes)));
      offset += bytes;
    }
    var json = JSON.writeValueAsString(header).getBytes(StandardCharsets.UTF_8);
    var out = ByteBuffer.allocate(8 + json.length + (int) offset).order(ByteOrder.LITTLE_ENDIAN);
    out.putLong(json.length).put(json);
    for (var values : tensors.values()) {
      for (float v : values) {
        if (width == 4) out.putFloat(v);
        else out.putShort(toHalf(v));
      }
    }
    Files.write(dir.resolve(Gpt2Weights.WEIGHTS), out.array());
  }

  /** v as the nearest binary16 and back (values within half's normal range). */
  private static float roundToHalf(float v) {
    return Gpt2Weights.halfToFloat(toHalf(v));
  }

  /**
   * Binary16 of v, rounded to nearest even on its 13 dropped mantissa bits; |v| in [2^-14, 65504].
   */
  private static short toHalf(float v) {
    if (v == 0) return 0;
    int bits = Float.floatToIntBits(v);
    int sign = (bits >>> 16) & 0x8000;
    int exponent = ((bits >>> 23) & 0xFF) - 127 + 15;
    if (exponent <= 0) return (short) sign; // below half's normal range: zero is close enough here
    int mantissa = bits & 0x7FFFFF;
    int rounded = (exponent << 23 | mantissa) + 0xFFF + ((mantissa >>> 13) & 1);
    return (short) (sign | (rounded >>> 13));
  }

  /** Our model's logits [T][V] for one unpadded row. */
  private static float[][] logits(Gpt model, int[] tokens) {
    try (NDManager m = NDManager.newBaseManager()) {
      var row = List.of(tokens);
      var out =
          Gpt.withoutGradient(
              () ->
                  model
                      .forward(
                          GptForwardTest.tokens(m, row, tokens.length),
                          GptForwardTest.mask(m, row, tokens.length))
                      .logits()
                      .get(0)
                      .toFloatArray());
      int v = model.config().vocabSize();
      var logits = new float[tokens.length][v];
      for (int t = 0; t < tokens.length; t++) System.arraycopy(out, t * v, logits[t], 0, v);
      return logits;
    }
  }

  /**
   * GPT-2's forward pass in doubles, as in its model card's definition: x = wte[ids] + wpe; per
   * block x += attn(ln_1(x)), x += mlp(ln_2(x)) with Conv1D y = x·W + b; ln_f; logits = x·wteᵀ.
   * GELU is the exact one (the import keeps ours, as nanoGPT does).
   */
  private static double[][] naiveForward(Map<String, float[]> w, int[] ids, int vocab) {
    String q = w.containsKey("wte.weight") ? "" : "transformer.";
    int n = ids.length;
    int hd = D / HEADS;
    var wte = w.get(q + "wte.weight");
    var wpe = w.get(q + "wpe.weight");
    var x = new double[n][D];
    for (int t = 0; t < n; t++)
      for (int i = 0; i < D; i++) x[t][i] = wte[ids[t] * D + i] + wpe[t * D + i];
    for (int l = 0; l < LAYERS; l++) {
      String p = q + "h." + l + ".";
      var h = layerNorm(x, w.get(p + "ln_1.weight"), w.get(p + "ln_1.bias"));
      var qkv = conv1d(h, w.get(p + "attn.c_attn.weight"), w.get(p + "attn.c_attn.bias"), 3 * D);
      var attended = new double[n][D];
      for (int head = 0; head < HEADS; head++) {
        for (int t = 0; t < n; t++) {
          var scores = new double[t + 1];
          double max = Double.NEGATIVE_INFINITY;
          for (int s = 0; s <= t; s++) {
            double dot = 0;
            for (int i = 0; i < hd; i++) dot += qkv[t][head * hd + i] * qkv[s][D + head * hd + i];
            scores[s] = dot / Math.sqrt(hd);
            max = Math.max(max, scores[s]);
          }
          double sum = 0;
          for (int s = 0; s <= t; s++) sum += scores[s] = Math.exp(scores[s] - max);
          for (int s = 0; s <= t; s++) {
            for (int i = 0; i < hd; i++) {
              attended[t][head * hd + i] += scores[s] / sum * qkv[s][2 * D + head * hd + i];
            }
          }
        }
      }
      add(x, conv1d(attended, w.get(p + "attn.c_proj.weight"), w.get(p + "attn.c_proj.bias"), D));
      h = layerNorm(x, w.get(p + "ln_2.weight"), w.get(p + "ln_2.bias"));
      var fc = conv1d(h, w.get(p + "mlp.c_fc.weight"), w.get(p + "mlp.c_fc.bias"), 4 * D);
      for (var row : fc) for (int i = 0; i < row.length; i++) row[i] = gelu(row[i]);
      add(x, conv1d(fc, w.get(p + "mlp.c_proj.weight"), w.get(p + "mlp.c_proj.bias"), D));
    }
    x = layerNorm(x, w.get(q + "ln_f.weight"), w.get(q + "ln_f.bias"));
    var logits = new double[n][vocab];
    for (int t = 0; t < n; t++) {
      for (int v = 0; v < vocab; v++) {
        double dot = 0;
        for (int i = 0; i < D; i++) dot += x[t][i] * wte[v * D + i];
        logits[t][v] = dot;
      }
    }
    return logits;
  }

  private static double[][] conv1d(double[][] x, float[] weight, float[] bias, int out) {
    int in = x[0].length;
    var y = new double[x.length][out];
    for (int t = 0; t < x.length; t++) {
      for (int o = 0; o < out; o++) {
        double sum = bias[o];
        for (int i = 0; i < in; i++) sum += x[t][i] * weight[i * out + o];
        y[t][o] = sum;
      }
    }
    return y;
  }

  private static double[][] layerNorm(double[][] x, float[] gain, float[] bias) {
    var y = new double[x.length][];
    for (int t = 0; t < x.length; t++) {
      double mean = 0;
      for (double v : x[t]) mean += v;
      mean /= x[t].length;
      double var = 0;
      for (double v : x[t]) var += (v - mean) * (v - mean);
      var /= x[t].length;
      y[t] = new double[x[t].length];
      for (int i = 0; i < x[t].length; i++) {
        y[t][i] = (x[t][i] - mean) / Math.sqrt(var + 1e-5) * gain[i] + bias[i];
      }
    }
    return y;
  }

  private static void add(double[][] x, double[][] y) {
    for (int t = 0; t < x.length; t++) for (int i = 0; i < x[t].length; i++) x[t][i] += y[t][i];
  }

  /** x·Φ(x), Φ through erf (Abramowitz and Stegun 7.1.26, error under 1.5e-7). */
  private static double gelu(double x) {
    double z = Math.abs(x) / Math.sqrt(2);
    double k = 1 / (1 + 0.3275911 * z);
    double erf =
        1
            - k
                * (0.254829592
                    + k * (-0.284496736 + k * (1.421413741 + k * (-1.453152027 + k * 1.061405429))))
                * Math.exp(-z * z);
    return 0.5 * x * (1 + Math.signum(x) * erf);
  }
}
