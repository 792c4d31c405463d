package io.streamrlhf.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.List;

/**
 * Prompts and responses laid out for one forward pass: each row is its prompt left-padded to the
 * widest prompt, then its response right-padded to the widest response, so every response starts at
 * the same column ({@code promptWidth}).
 *
 * @param tokens int64 [B, P + R]; padding holds {@link ByteTokenizer#PAD}
 * @param mask boolean [B, P + R], true on real tokens
 * @param responseTokens int64 [B, R]; padding holds PAD
 * @param responseMask float32 [B, R], 1 on real response tokens
 * @param lastTokenIndex int64 [B, 1], column of each row's last real token (reward read-out)
 * @param promptWidth P, the widest prompt
 * @param responseWidth R, the widest response
 */
public record ScoringBatch(
    NDArray tokens,
    NDArray mask,
    NDArray responseTokens,
    NDArray responseMask,
    NDArray lastTokenIndex,
    int promptWidth,
    int responseWidth) {

  /** Builds the batch in {@code manager}; every prompt needs at least one token. */
  public static ScoringBatch of(NDManager manager, List<int[]> prompts, List<int[]> responses) {
    if (prompts.size() != responses.size() || prompts.isEmpty()) {
      throw new IllegalArgumentException(
          "need one response per prompt and at least one pair, got "
              + prompts.size()
              + " prompts and "
              + responses.size()
              + " responses");
    }
    int b = prompts.size();
    int p = prompts.stream().mapToInt(x -> x.length).max().orElseThrow();
    int r = responses.stream().mapToInt(x -> x.length).max().orElseThrow();
    if (prompts.stream().anyMatch(x -> x.length == 0)) {
      throw new IllegalArgumentException(
          "every prompt needs at least one token: the first response "
              + "token is predicted from the last prompt token");
    }
    int width = p + r;
    long[] tokens = new long[b * width];
    boolean[] mask = new boolean[b * width];
    long[] responseTokens = new long[b * r];
    float[] responseMask = new float[b * r];
    long[] last = new long[b];
    java.util.Arrays.fill(tokens, ByteTokenizer.PAD);
    java.util.Arrays.fill(responseTokens, ByteTokenizer.PAD);
    for (int row = 0; row < b; row++) {
      int[] prompt = prompts.get(row);
      int[] response = responses.get(row);
      for (int i = 0; i < prompt.length; i++) {
        int column = p - prompt.length + i;
        tokens[row * width + column] = prompt[i];
        mask[row * width + column] = true;
      }
      for (int j = 0; j < response.length; j++) {
        tokens[row * width + p + j] = response[j];
        mask[row * width + p + j] = true;
        responseTokens[row * r + j] = response[j];
        responseMask[row * r + j] = 1f;
      }
      last[row] = p + response.length - 1L;
    }
    return new ScoringBatch(
        manager.create(tokens, new Shape(b, width)),
        manager.create(mask, new Shape(b, width)),
        manager.create(responseTokens, new Shape(b, r)),
        manager.create(responseMask, new Shape(b, r)),
        manager.create(last, new Shape(b, 1)),
        p,
        r);
  }

  public int batchSize() {
    return Math.toIntExact(tokens.getShape().get(0));
  }

  /** A response-mask-weighted mean of a [B, R] quantity, e.g. a per-token loss. */
  public NDArray maskedMean(NDArray perToken) {
    return perToken
        .mul(responseMask.toType(perToken.getDataType(), false))
        .sum()
        .div(responseMask.sum().toType(perToken.getDataType(), false).maximum(1));
  }
}
