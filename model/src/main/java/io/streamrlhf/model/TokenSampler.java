package io.streamrlhf.model;

import java.util.SplittableRandom;

/**
 * Draws one token from next-token logits on the JVM, with a seeded generator so sampling is
 * reproducible (PyTorch's multinomial is not reachable through DJL, and its global generator would
 * be shared by every thread).
 *
 * <p>The distribution is softmax(logits / temperature); with top-k, the tokens whose scaled logit
 * is below the k-th largest get probability 0 and the rest are renormalised. The returned log-prob
 * is the log of the probability the token was drawn with, computed in double.
 *
 * <p>Two ways to draw, with the same distribution ({@link Generator.TokenDraw}): inverse CDF takes
 * one uniform per token; Gumbel-max takes one per vocabulary entry and picks the token with the
 * smallest E_i / w_i (E_i = −log u_i exponential, w_i the unnormalised probability), which is
 * argmax(log w_i + Gumbel_i) with one logarithm per entry.
 */
final class TokenSampler {

  record Draw(int token, double logProb) {}

  private TokenSampler() {}

  static Draw draw(
      float[] logits,
      int offset,
      int vocab,
      float temperature,
      int topK,
      Generator.TokenDraw method,
      SplittableRandom rng) {
    double[] scaled = new double[vocab];
    double max = Double.NEGATIVE_INFINITY;
    for (int i = 0; i < vocab; i++) {
      scaled[i] = logits[offset + i] / (double) temperature;
      max = Math.max(max, scaled[i]);
    }
    double threshold = Double.NEGATIVE_INFINITY;
    if (topK > 0 && topK < vocab) {
      double[] sorted = scaled.clone();
      java.util.Arrays.sort(sorted);
      threshold = sorted[vocab - topK];
    }
    // Unnormalised probabilities of the kept tokens, one exp each.
    double[] weights = new double[vocab];
    double sum = 0;
    for (int i = 0; i < vocab; i++) {
      if (scaled[i] >= threshold) {
        weights[i] = Math.exp(scaled[i] - max);
        sum += weights[i];
      }
    }
    int token =
        method == Generator.TokenDraw.GUMBEL_MAX
            ? gumbelMax(weights, rng)
            : inverseCdf(weights, sum, rng);
    return new Draw(token, scaled[token] - max - Math.log(sum));
  }

  /** One uniform, walked through the CDF in index order; the last kept token absorbs rounding. */
  private static int inverseCdf(double[] weights, double sum, SplittableRandom rng) {
    double u = rng.nextDouble() * sum;
    int token = -1;
    for (int i = 0; i < weights.length; i++) {
      if (weights[i] > 0) {
        token = i;
        u -= weights[i];
        if (u < 0) {
          break;
        }
      }
    }
    return token;
  }

  /**
   * One exponential per vocabulary entry, kept or not, so a step always takes {@code vocab} numbers
   * from the stream; the smallest E_i / w_i wins (P(i wins) = w_i / Σ w).
   */
  private static int gumbelMax(double[] weights, SplittableRandom rng) {
    int token = -1;
    double best = Double.POSITIVE_INFINITY;
    for (int i = 0; i < weights.length; i++) {
      double exponential = -Math.log(1.0 - rng.nextDouble()); // 1 − u in (0, 1]: never log 0
      if (weights[i] > 0 && exponential / weights[i] < best) {
        best = exponential / weights[i];
        token = i;
      }
    }
    return token;
  }
}
