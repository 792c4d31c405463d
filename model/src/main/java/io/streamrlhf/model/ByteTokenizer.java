package io.streamrlhf.model;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Byte-level tokenizer: one token per UTF-8 byte (0..255), plus end-of-sequence and padding.
 *
 * <p>Vocabulary 260 as in BENCHMARKS.md: 256 bytes, {@link #EOS} = 256, {@link #PAD} = 257, and
 * 258..259 reserved (a multiple of 4 keeps the embedding rows aligned). Any string round-trips
 * because UTF-8 is a bijection between strings and valid byte sequences.
 */
public final class ByteTokenizer {

  public static final int VOCAB_SIZE = 260;
  public static final int EOS = 256;
  public static final int PAD = 257;

  private ByteTokenizer() {}

  /** The UTF-8 bytes of {@code text} as tokens 0..255; no EOS is appended. */
  public static int[] encode(String text) {
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    int[] tokens = new int[bytes.length];
    for (int i = 0; i < bytes.length; i++) {
      tokens[i] = bytes[i] & 0xFF;
    }
    return tokens;
  }

  /**
   * The text of the byte tokens in {@code tokens}; decoding stops at the first EOS, and PAD and
   * reserved tokens are skipped. Byte sequences a model produced that are not valid UTF-8 decode to
   * U+FFFD rather than failing.
   */
  public static String decode(int[] tokens) {
    var bytes = new ByteArrayOutputStream(tokens.length);
    for (int token : tokens) {
      if (token == EOS) {
        break;
      }
      if (token >= 0 && token < 256) {
        bytes.write(token);
      }
    }
    return bytes.toString(StandardCharsets.UTF_8);
  }

  /** {@code tokens} followed by EOS: how a finished demonstration or response ends. */
  public static int[] withEos(int[] tokens) {
    int[] out = java.util.Arrays.copyOf(tokens, tokens.length + 1);
    out[tokens.length] = EOS;
    return out;
  }
}
