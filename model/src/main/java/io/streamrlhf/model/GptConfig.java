package io.streamrlhf.model;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.Locale;

/**
 * The shape of a {@link Gpt}: everything needed to rebuild its parameter set.
 *
 * @param vocabSize tokens in the vocabulary ({@link ByteTokenizer#VOCAB_SIZE} for our tokenizer)
 * @param contextLength learned positions, hence the longest prompt + response
 * @param dModel width of the residual stream
 * @param layers transformer blocks
 * @param heads attention heads per block; must divide {@code dModel}
 */
public record GptConfig(
    @JsonProperty("vocabSize") int vocabSize,
    @JsonProperty("contextLength") int contextLength,
    @JsonProperty("dModel") int dModel,
    @JsonProperty("layers") int layers,
    @JsonProperty("heads") int heads) {

  private static final ObjectMapper JSON = new ObjectMapper();

  /**
   * A bound on one tensor's entry in a safetensors header: its name (with an optimizer moment's
   * prefix), dtype, shape and offsets as JSON, about 110 bytes for the longest in practice.
   */
  private static final int HEADER_BYTES_PER_TENSOR = 256;

  public GptConfig {
    if (vocabSize < 1 || contextLength < 1 || dModel < 1 || layers < 1 || heads < 1) {
      throw new IllegalArgumentException(
          "GPT shape values must be positive, got vocab "
              + vocabSize
              + ", context "
              + contextLength
              + ", d_model "
              + dModel
              + ", layers "
              + layers
              + ", heads "
              + heads);
    }
    if (dModel % heads != 0) {
      throw new IllegalArgumentException(
          "d_model "
              + dModel
              + " is not divisible by heads "
              + heads
              + ": choose heads that divide d_model");
    }
    // refused here rather than at the first checkpoint, after the training it would have saved
    long parameters = parameterCount(vocabSize, contextLength, dModel, layers);
    long most = maxParameters(layers);
    if (parameters > most) {
      throw new IllegalArgumentException(
          String.format(
              Locale.ROOT,
              "a GPT of d_model %d, %d layers, context %d has %s parameters: more than the %,d"
                  + " whose float32 weights fit one weight snapshot (a 2 GiB Java array)",
              dModel,
              layers,
              contextLength,
              parameters == Long.MAX_VALUE
                  ? "over 9.2 x 10^18"
                  : String.format(Locale.ROOT, "%,d", parameters),
              Math.max(0, most)));
    }
  }

  /** How many parameters a {@link Gpt} of this shape has (its scalar head included). */
  public long parameterCount() {
    return parameterCount(vocabSize, contextLength, dModel, layers);
  }

  /**
   * The most parameters a model of {@code layers} blocks may have: its float32 weights, and each of
   * AdamW's two moments, are checkpointed (and the weights published) as one snapshot, one Java
   * array with its safetensors header (12 tensors a block, 6 more) and frame header. About 536 M:
   * GPT-2 medium (304 M in this vocabulary) fits, GPT-2 large (710 M) does not.
   */
  static long maxParameters(int layers) {
    long header = (12L * layers + 6) * HEADER_BYTES_PER_TENSOR + 64;
    return (Integer.MAX_VALUE - 8 - header) / Float.BYTES;
  }

  /** The parameter count, or {@code Long.MAX_VALUE} where it exceeds a long. */
  private static long parameterCount(int vocab, int context, int dModel, int layers) {
    long d = dModel;
    try {
      // per block: two LayerNorms (2d each), qkv (3d² + 3d), attention out (d² + d), MLP (8d² + 5d)
      long block = Math.addExact(Math.multiplyExact(12 * d, d), 13 * d);
      // embeddings, blocks, the final LayerNorm, the scalar head
      return Math.addExact(
          Math.addExact(
              Math.multiplyExact(vocab + (long) context, d), Math.multiplyExact(layers, block)),
          3 * d + 1);
    } catch (ArithmeticException e) {
      return Long.MAX_VALUE;
    }
  }

  /** d_model 128, 4 layers, 4 heads, context 256: quick experiments and tests. */
  public static GptConfig tiny() {
    return new GptConfig(ByteTokenizer.VOCAB_SIZE, 256, 128, 4, 4);
  }

  /** BENCHMARKS.md's bench-small: d_model 256, 4 layers, 4 heads, context 256. */
  public static GptConfig small() {
    return new GptConfig(ByteTokenizer.VOCAB_SIZE, 256, 256, 4, 4);
  }

  /** The preset called {@code name} ({@code tiny} or {@code small}). */
  public static GptConfig preset(String name) {
    return switch (name) {
      case "tiny" -> tiny();
      case "small" -> small();
      default ->
          throw new IllegalArgumentException(
              "unknown model preset '" + name + "': use tiny or small");
    };
  }

  public int headDim() {
    return dModel / heads;
  }

  public String toJson() {
    try {
      return JSON.writerWithDefaultPrettyPrinter().writeValueAsString(this);
    } catch (JsonProcessingException e) {
      throw new IllegalStateException("GptConfig is always serialisable", e);
    }
  }

  public static GptConfig fromJson(String json) {
    try {
      return JSON.readValue(json, GptConfig.class);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException("not a GPT config: " + e.getOriginalMessage(), e);
    }
  }
}
