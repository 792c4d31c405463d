package io.streamrlhf.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Both draws follow softmax(logits / T); Gumbel-max also keeps the picks another model raised most.
 */
class TokenSamplerTest {
  private static final float[] LOGITS = {1.0f, 0.5f, 3.0f, 0.2f, 1.5f};

  @Test
  void bothDrawsFollowTheSoftmaxAndReportItsLogProb() {
    double[] p = softmax(LOGITS, 1.0);
    for (var method : Generator.TokenDraw.values()) {
      var rng = new SplittableRandom(7);
      int n = 40_000;
      int[] counts = new int[LOGITS.length];
      for (int i = 0; i < n; i++) {
        var draw = TokenSampler.draw(LOGITS, 0, LOGITS.length, 1f, 0, method, rng);
        counts[draw.token()]++;
        assertThat(draw.logProb()).isCloseTo(Math.log(p[draw.token()]), within(1e-9));
      }
      for (int t = 0; t < p.length; t++) {
        double sd = Math.sqrt(p[t] * (1 - p[t]) / n);
        assertThat((double) counts[t] / n)
            .as("%s token %d", method, t)
            .isCloseTo(p[t], within(5 * sd));
      }
    }
  }

  @Test
  void gumbelMaxKeepsAPickThatAnotherModelRaisedMostAndInverseCdfDoesNot() {
    // q raises token 1 by the largest factor (1.25, against 1.17 and 0.5): fed the same numbers,
    // q must draw token 1 whenever p does. In token-id order token 1's CDF interval moves from
    // [0.30, 0.70) to [0.35, 0.85), so inverse CDF loses the picks with u in [0.30, 0.35).
    float[] p = logits(0.3, 0.4, 0.3);
    float[] q = logits(0.35, 0.5, 0.15);
    int[] lost = new int[Generator.TokenDraw.values().length];
    int kept = 0;
    for (long seed = 0; seed < 5_000; seed++) {
      for (var method : Generator.TokenDraw.values()) {
        int fromP = TokenSampler.draw(p, 0, 3, 1f, 0, method, new SplittableRandom(seed)).token();
        int fromQ = TokenSampler.draw(q, 0, 3, 1f, 0, method, new SplittableRandom(seed)).token();
        if (fromP == 1 && fromQ != 1) lost[method.ordinal()]++;
        if (fromP == 1 && method == Generator.TokenDraw.GUMBEL_MAX) kept++;
      }
    }
    assertThat(kept).isGreaterThan(1_500); // p draws token 1 about 2,000 times
    assertThat(lost[Generator.TokenDraw.GUMBEL_MAX.ordinal()]).isZero();
    assertThat(lost[Generator.TokenDraw.INVERSE_CDF.ordinal()]).isBetween(150, 350); // 5% of 5,000
  }

  private static float[] logits(double... probabilities) {
    float[] logits = new float[probabilities.length];
    for (int i = 0; i < logits.length; i++) logits[i] = (float) Math.log(probabilities[i]);
    return logits;
  }

  private static double[] softmax(float[] logits, double temperature) {
    double[] p = new double[logits.length];
    double sum = 0;
    for (int i = 0; i < p.length; i++) sum += p[i] = Math.exp(logits[i] / temperature);
    for (int i = 0; i < p.length; i++) p[i] /= sum;
    return p;
  }
}
