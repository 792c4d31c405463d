package io.streamrlhf.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * GPT-2-format weights (a Hugging Face GPT-2 directory: {@code config.json} and {@code
 * model.safetensors}) as a {@link Gpt} that reads this project's byte tokens.
 *
 * <p>The architecture is the same (nanoGPT loads GPT-2 the same way); what differs is the layout
 * and the vocabulary:
 *
 * <ul>
 *   <li>GPT-2 stores its projections as Conv1D, [in, out]; ours are PyTorch Linear, [out, in], so
 *       every projection is transposed. The fused c_attn splits into q, k, v as our qkv does.
 *   <li>GPT-2's byte-level BPE begins with one token for each of the 256 bytes (in the order of its
 *       {@code bytes_to_unicode}: the printable bytes first, then the rest), and {@code
 *       <|endoftext|>} is its last token. Those 257 embedding rows become our bytes and EOS; the
 *       merged tokens are dropped. GPT-2 read text as merged tokens, so on bytes it starts far from
 *       its own quality: continued pretraining on bytes ({@code rlhf pretrain --gpt2}) is the point
 *       of the import. Weights already in our 260-token byte vocabulary keep every row.
 *   <li>GPT-2 computes GELU with its tanh approximation; ours is the exact GELU, as in nanoGPT when
 *       it loads GPT-2 (the two differ by under 5e-4 at any input).
 * </ul>
 *
 * Float32, float16 and bfloat16 tensors are read; the model is float32.
 */
public final class Gpt2Weights {
  public static final String CONFIG = "config.json";
  public static final String WEIGHTS = "model.safetensors";

  /** GPT-2's vocabulary: 256 byte tokens, 50,000 merges, {@code <|endoftext|>}. */
  public static final int GPT2_VOCAB = 50_257;

  /** GPT-2's {@code <|endoftext|>}. */
  public static final int GPT2_END_OF_TEXT = 50_256;

  private static final ObjectMapper JSON = new ObjectMapper();

  private Gpt2Weights() {}

  /**
   * The GPT-2 token of byte {@code b} (0..255): GPT-2's {@code bytes_to_unicode} lists the bytes
   * '!'..'~', '¡'..'¬' and '®'..'ÿ' first, in byte order, then the remaining bytes in byte order,
   * and its vocabulary begins with those 256 single-byte tokens in that order.
   */
  public static int gpt2Token(int b) {
    if (b < 0 || b > 255) throw new IllegalArgumentException("not a byte: " + b);
    int printableBefore = 0; // printable bytes below b
    int otherBefore = 0; // non-printable bytes below b
    for (int i = 0; i < b; i++) {
      if (printable(i)) printableBefore++;
      else otherBefore++;
    }
    return printable(b) ? printableBefore : PRINTABLE + otherBefore;
  }

  private static final int PRINTABLE = ('~' - '!' + 1) + (0xAC - 0xA1 + 1) + (0xFF - 0xAE + 1);

  private static boolean printable(int b) {
    return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
  }

  /**
   * The shape of the model in {@code dir}, in our byte vocabulary, from its {@code config.json}
   * alone; refuses a model this import would not reproduce.
   *
   * @throws IllegalArgumentException naming what does not fit
   */
  public static GptConfig shape(Path dir) throws IOException {
    var file = dir.resolve(CONFIG);
    if (!Files.isRegularFile(file)) {
      throw new IllegalArgumentException(
          dir + " holds no " + CONFIG + ": give a Hugging Face GPT-2 directory");
    }
    JsonNode c;
    try {
      c = JSON.readTree(file.toFile());
    } catch (com.fasterxml.jackson.core.JacksonException e) {
      // the parser's first line and where, not its source excerpt on a second
      var at = e.getLocation();
      throw new IllegalArgumentException(
          file
              + " is not JSON"
              + (at != null
                  ? " (line " + at.getLineNr() + ", column " + at.getColumnNr() + ")"
                  : "")
              + ": "
              + e.getOriginalMessage().lines().findFirst().orElse("malformed"),
          e);
    }
    var type = c.path("model_type").asText("gpt2");
    if (!type.equals("gpt2")) {
      throw new IllegalArgumentException(file + ": model_type " + type + ", not gpt2");
    }
    int vocab = positive(c, file, "vocab_size");
    if (vocab != GPT2_VOCAB && vocab != ByteTokenizer.VOCAB_SIZE) {
      throw new IllegalArgumentException(
          file
              + ": a vocabulary of "
              + vocab
              + " tokens is neither GPT-2's byte-level BPE ("
              + GPT2_VOCAB
              + ") nor this project's bytes ("
              + ByteTokenizer.VOCAB_SIZE
              + ")");
    }
    double eps = c.path("layer_norm_epsilon").asDouble(1e-5);
    if (Math.abs(eps - 1e-5) > 1e-9) {
      throw new IllegalArgumentException(
          file + ": layer_norm_epsilon " + eps + "; this model's LayerNorm uses 1e-5");
    }
    for (var unsupported :
        new String[] {"scale_attn_by_inverse_layer_idx", "reorder_and_upcast_attn"}) {
      if (c.path(unsupported).asBoolean(false)) {
        throw new IllegalArgumentException(file + ": " + unsupported + " is not supported");
      }
    }
    var activation = c.path("activation_function").asText("gelu_new");
    if (!java.util.Set.of("gelu_new", "gelu", "gelu_pytorch_tanh", "gelu_fast")
        .contains(activation)) {
      throw new IllegalArgumentException(
          file + ": activation_function " + activation + "; this model's MLP uses GELU");
    }
    if (c.hasNonNull("n_inner") && c.path("n_inner").asInt() != 4 * c.path("n_embd").asInt()) {
      throw new IllegalArgumentException(
          file
              + ": n_inner "
              + c.path("n_inner").asInt()
              + "; this model's MLP is 4 x n_embd wide");
    }
    if (!c.path("scale_attn_weights").asBoolean(true)
        || !c.path("tie_word_embeddings").asBoolean(true)) {
      throw new IllegalArgumentException(
          file + ": attention without 1/sqrt(head dim), or untied embeddings, is not GPT-2's");
    }
    int positions =
        c.has("n_positions") ? positive(c, file, "n_positions") : positive(c, file, "n_ctx");
    return new GptConfig(
        ByteTokenizer.VOCAB_SIZE,
        positions,
        positive(c, file, "n_embd"),
        positive(c, file, "n_layer"),
        positive(c, file, "n_head"));
  }

  /**
   * Whether the weights in {@code dir} (whose {@link #shape} was read) are in GPT-2's byte-level
   * BPE, whose 256 byte tokens and {@code <|endoftext|>} the import keeps, rather than in our
   * vocabulary.
   */
  public static boolean inGpt2Vocabulary(Path dir) throws IOException {
    return JSON.readTree(dir.resolve(CONFIG).toFile()).path("vocab_size").asInt() == GPT2_VOCAB;
  }

  private static int positive(JsonNode config, Path file, String key) {
    int value = config.path(key).asInt(0);
    if (value < 1) throw new IllegalArgumentException(file + ": no positive " + key);
    return value;
  }

  /**
   * One tensor under its two names. GPT-2 stores a projection as Conv1D, [in, out]; we store it as
   * a PyTorch Linear, [out, in].
   */
  private record Link(String gpt2, String ours, boolean transposed) {}

  /** Every tensor but the token embedding, whose rows the vocabularies decide. */
  private static List<Link> links(int layers) {
    var links = new ArrayList<Link>();
    links.add(new Link("wpe.weight", "pos_emb", false));
    for (int l = 0; l < layers; l++) {
      String p = "h." + l + ".";
      links.add(new Link(p + "ln_1.weight", p + "ln1.weight", false));
      links.add(new Link(p + "ln_1.bias", p + "ln1.bias", false));
      links.add(new Link(p + "attn.c_attn.weight", p + "attn.qkv.weight", true));
      links.add(new Link(p + "attn.c_attn.bias", p + "attn.qkv.bias", false));
      links.add(new Link(p + "attn.c_proj.weight", p + "attn.proj.weight", true));
      links.add(new Link(p + "attn.c_proj.bias", p + "attn.proj.bias", false));
      links.add(new Link(p + "ln_2.weight", p + "ln2.weight", false));
      links.add(new Link(p + "ln_2.bias", p + "ln2.bias", false));
      links.add(new Link(p + "mlp.c_fc.weight", p + "mlp.fc.weight", true));
      links.add(new Link(p + "mlp.c_fc.bias", p + "mlp.fc.bias", false));
      links.add(new Link(p + "mlp.c_proj.weight", p + "mlp.proj.weight", true));
      links.add(new Link(p + "mlp.c_proj.bias", p + "mlp.proj.bias", false));
    }
    links.add(new Link("ln_f.weight", "ln_f.weight", false));
    links.add(new Link("ln_f.bias", "ln_f.bias", false));
    return links;
  }

  /**
   * A float32 model on this process's device holding the weights in {@code dir}, with a zero scalar
   * head (GPT-2 has none).
   *
   * @throws IllegalArgumentException when a tensor is missing, misshapen, of another dtype, or not
   *     GPT-2's
   */
  public static Gpt load(Path dir) throws IOException {
    var shape = shape(dir);
    var file = dir.resolve(WEIGHTS);
    if (!Files.isRegularFile(file)) {
      throw new IllegalArgumentException(dir + " holds no " + WEIGHTS);
    }
    try (var channel = FileChannel.open(file)) {
      if (channel.size() > Integer.MAX_VALUE) {
        throw new IllegalArgumentException(
            file + " is over 2 GiB: GPT-2 models up to medium size are read");
      }
      var payload = channel.map(FileChannel.MapMode.READ_ONLY, 0, channel.size());
      SafetensorsLayout layout;
      try {
        layout = SafetensorsLayout.parse(payload);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
      }
      var gpt2 = new Tensors(payload, layout, file);
      var model = Gpt.create(shape, 0);
      try {
        var params = model.parameters();
        Gpt.withoutGradient(
            () -> {
              params.get("tok_emb").set(FloatBuffer.wrap(byteRows(gpt2, shape.dModel())));
              for (var link : links(shape.layers())) {
                var dims = params.get(link.ours()).getShape().getShape();
                float[] values;
                if (link.transposed()) {
                  int out = (int) dims[0];
                  values = transposed(gpt2.read(link.gpt2(), (int) dims[1], out), (int) dims[1]);
                } else {
                  values =
                      gpt2.read(
                          link.gpt2(), Arrays.stream(dims).mapToInt(Math::toIntExact).toArray());
                }
                params.get(link.ours()).set(FloatBuffer.wrap(values));
              }
              return null;
            });
        model.zeroScalarHead();
        gpt2.requireAllRead(shape.layers());
        return model;
      } catch (RuntimeException e) {
        model.close();
        throw e;
      }
    }
  }

  /**
   * Our token embedding [260, d]: GPT-2's 256 byte tokens and {@code <|endoftext|>} as our bytes
   * and EOS (PAD and the reserved rows zero), or every row of weights already in our vocabulary.
   */
  private static float[] byteRows(Tensors gpt2, int d) {
    var wte = gpt2.read("wte.weight", -1, d);
    int vocab = wte.length / d;
    var embedding = new float[ByteTokenizer.VOCAB_SIZE * d];
    if (vocab == ByteTokenizer.VOCAB_SIZE) {
      System.arraycopy(wte, 0, embedding, 0, embedding.length);
    } else if (vocab == GPT2_VOCAB) {
      for (int b = 0; b < 256; b++) System.arraycopy(wte, gpt2Token(b) * d, embedding, b * d, d);
      System.arraycopy(wte, GPT2_END_OF_TEXT * d, embedding, ByteTokenizer.EOS * d, d);
    } else {
      throw new IllegalArgumentException(
          gpt2.file + ": wte.weight has " + vocab + " rows, config.json another vocabulary");
    }
    return embedding;
  }

  /**
   * Writes {@code model} as GPT-2-format weights into {@code dir}: a {@code config.json} and {@code
   * model.safetensors} that Hugging Face's GPT2LMHeadModel loads, in our vocabulary of 260 byte
   * tokens (EOS 256) with the exact GELU ({@code activation_function} "gelu"); the scalar head is
   * not GPT-2's and is left out. {@link #load} reads it back to the same logits.
   */
  public static void write(Gpt model, Path dir) throws IOException {
    var shape = model.config();
    var params = model.parameters();
    var tensors = new LinkedHashMap<String, float[]>();
    var shapes = new LinkedHashMap<String, long[]>();
    Gpt.withoutGradient(
        () -> {
          var wte = params.get("tok_emb");
          tensors.put("wte.weight", wte.toFloatArray());
          shapes.put("wte.weight", wte.getShape().getShape());
          for (var link : links(shape.layers())) {
            var param = params.get(link.ours());
            var dims = param.getShape().getShape();
            var values = param.toFloatArray();
            tensors.put(
                link.gpt2(), link.transposed() ? transposed(values, (int) dims[0]) : values);
            shapes.put(link.gpt2(), link.transposed() ? new long[] {dims[1], dims[0]} : dims);
          }
          return null;
        });
    var out = SafetensorsLayout.float32(shapes, Map.of("format", "pt"));
    for (var values : tensors.values()) for (float v : values) out.putFloat(v);

    var config = new LinkedHashMap<String, Object>();
    config.put("architectures", List.of("GPT2LMHeadModel"));
    config.put("model_type", "gpt2");
    config.put("vocab_size", shape.vocabSize());
    config.put("n_positions", shape.contextLength());
    config.put("n_ctx", shape.contextLength());
    config.put("n_embd", shape.dModel());
    config.put("n_layer", shape.layers());
    config.put("n_head", shape.heads());
    config.put("activation_function", "gelu");
    config.put("layer_norm_epsilon", 1e-5);
    config.put("bos_token_id", ByteTokenizer.EOS);
    config.put("eos_token_id", ByteTokenizer.EOS);
    config.put("tie_word_embeddings", true);
    Files.createDirectories(dir);
    writeAtomically(dir.resolve(WEIGHTS), out.array());
    try {
      writeAtomically(
          dir.resolve(CONFIG), JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(config));
    } catch (IOException e) {
      // weights without their config are no export: take them back too
      try {
        Files.deleteIfExists(dir.resolve(WEIGHTS));
      } catch (IOException cleanup) {
        e.addSuppressed(cleanup);
      }
      throw e;
    }
  }

  /**
   * Writes beside {@code file}, then renames: a reader never sees half a file. On failure (a full
   * disk) the partial file is removed, its space given back, and the error names {@code file}.
   */
  private static void writeAtomically(Path file, byte[] bytes) throws IOException {
    var partial = file.resolveSibling(file.getFileName() + ".partial");
    try {
      Files.write(partial, bytes);
      Files.move(
          partial, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      var failed = new IOException("cannot write " + file + ": " + e.getMessage(), e);
      try {
        Files.deleteIfExists(partial);
      } catch (IOException cleanup) {
        failed.addSuppressed(cleanup);
      }
      throw failed;
    }
  }

  /** {@code m} [rows, cols] row-major, transposed to [cols, rows]. */
  private static float[] transposed(float[] m, int rows) {
    int cols = m.length / rows;
    var t = new float[m.length];
    for (int r = 0; r < rows; r++) for (int c = 0; c < cols; c++) t[c * rows + r] = m[r * cols + c];
    return t;
  }

  /** GPT-2's tensors by name, a {@code transformer.} prefix (GPT2LMHeadModel's) taken off. */
  private static final class Tensors {
    private final ByteBuffer payload;
    private final Map<String, SafetensorsLayout.Entry> entries = new LinkedHashMap<>();
    private final Path file;
    private final TreeSet<String> read = new TreeSet<>();

    Tensors(ByteBuffer payload, SafetensorsLayout layout, Path file) {
      this.payload = payload.duplicate().order(ByteOrder.LITTLE_ENDIAN);
      this.file = file;
      layout
          .entries()
          .forEach((name, entry) -> entries.put(name.replaceFirst("^transformer\\.", ""), entry));
    }

    /** The tensor's values as float32, row-major; -1 in {@code shape} is any size. */
    float[] read(String name, int... shape) {
      var entry = entries.get(name);
      if (entry == null) throw new IllegalArgumentException(file + " has no tensor " + name);
      boolean fits = entry.shape().length == shape.length;
      for (int i = 0; fits && i < shape.length; i++) {
        fits = shape[i] == -1 || entry.shape()[i] == shape[i];
      }
      if (!fits) {
        throw new IllegalArgumentException(
            file
                + ": "
                + name
                + " is "
                + Arrays.toString(entry.shape())
                + ", config.json makes it "
                + Arrays.toString(shape).replace("-1", "any"));
      }
      long count = 1;
      for (long n : entry.shape()) count *= n;
      int width =
          switch (entry.dtype()) {
            case "F32" -> 4;
            case "F16", "BF16" -> 2;
            default ->
                throw new IllegalArgumentException(
                    file + ": " + name + " is " + entry.dtype() + "; F32, F16 and BF16 are read");
          };
      if (entry.to() - entry.from() != count * width) {
        throw new IllegalArgumentException(file + ": " + name + " holds the wrong number of bytes");
      }
      var values = new float[Math.toIntExact(count)];
      int at = entry.from();
      switch (entry.dtype()) {
        case "F32" -> {
          for (int i = 0; i < values.length; i++) values[i] = payload.getFloat(at + 4 * i);
        }
        case "BF16" -> {
          for (int i = 0; i < values.length; i++) {
            values[i] = Float.intBitsToFloat((payload.getShort(at + 2 * i) & 0xFFFF) << 16);
          }
        }
        default -> {
          for (int i = 0; i < values.length; i++)
            values[i] = halfToFloat(payload.getShort(at + 2 * i));
        }
      }
      read.add(name);
      return values;
    }

    /** Refuses tensors GPT-2 does not have (another model's, or a head we would drop). */
    void requireAllRead(int layers) {
      var unknown = new ArrayList<String>();
      for (var name : entries.keySet()) {
        if (read.contains(name)) continue;
        // the causal-mask buffers older files carry, and the output head tied to wte
        if (name.matches("h\\.\\d+\\.attn\\.(masked_)?bias") || name.equals("lm_head.weight")) {
          continue;
        }
        unknown.add(name);
      }
      if (!unknown.isEmpty()) {
        throw new IllegalArgumentException(
            file
                + " holds tensors a "
                + layers
                + "-layer GPT-2 has not: "
                + String.join(", ", unknown.subList(0, Math.min(5, unknown.size())))
                + (unknown.size() > 5 ? ", ..." : ""));
      }
    }
  }

  /** IEEE 754 binary16 to float32 (Java 17 has no Float.float16ToFloat). */
  static float halfToFloat(short half) {
    int h = half & 0xFFFF;
    int sign = (h & 0x8000) << 16;
    int exponent = (h >>> 10) & 0x1F;
    int mantissa = h & 0x3FF;
    if (exponent == 0x1F) return Float.intBitsToFloat(sign | 0x7F800000 | (mantissa << 13));
    if (exponent == 0) {
      // zero or subnormal: mantissa · 2^-24
      float value = mantissa * 0x1p-24f;
      return sign == 0 ? value : -value;
    }
    return Float.intBitsToFloat(sign | ((exponent + 112) << 23) | (mantissa << 13));
  }
}
