package io.streamrlhf.model;

import java.util.SplittableRandom;

/**
 * Draws one token from next-token logits on the JVM, with a seeded generator so sampling is
 * reproducible (PyTorch's multinomial is not reachable through DJL, and its global generator
 * would be shared by every thread).
 *
 * <p>The distribution is softmax(logits / temperature); with top-k, the tokens whose scaled
 * logit is below the k-th largest get probability 0 and the rest are renormalised. The returned
 * log-prob is the log of the probability the token was drawn with, computed in double.
 */
final class TokenSampler {

    record Draw(int token, double logProb) {}

    private TokenSampler() {}

    static Draw draw(float[] logits, int offset, int vocab, float temperature, int topK, SplittableRandom rng) {
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
        // Inverse-CDF sampling in index order; the last kept token absorbs rounding.
        double u = rng.nextDouble() * sum;
        int token = -1;
        for (int i = 0; i < vocab; i++) {
            if (weights[i] > 0) {
                token = i;
                u -= weights[i];
                if (u < 0) {
                    break;
                }
            }
        }
        return new Draw(token, scaled[token] - max - Math.log(sum));
    }
}
