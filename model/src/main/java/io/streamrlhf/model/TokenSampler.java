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
        for (int i = 0; i < vocab; i++) {
            scaled[i] = logits[offset + i] / (double) temperature;
        }
        double threshold = Double.NEGATIVE_INFINITY;
        if (topK > 0 && topK < vocab) {
            double[] sorted = scaled.clone();
            java.util.Arrays.sort(sorted);
            threshold = sorted[vocab - topK];
        }
        double max = Double.NEGATIVE_INFINITY;
        for (double z : scaled) {
            max = Math.max(max, z);
        }
        double sum = 0;
        for (double z : scaled) {
            if (z >= threshold) {
                sum += Math.exp(z - max);
            }
        }
        double logNormaliser = max + Math.log(sum);
        // Inverse-CDF sampling over the kept tokens in index order.
        double u = rng.nextDouble() * sum;
        int last = -1;
        for (int i = 0; i < vocab; i++) {
            if (scaled[i] < threshold) {
                continue;
            }
            last = i;
            u -= Math.exp(scaled[i] - max);
            if (u < 0) {
                break;
            }
        }
        return new Draw(last, scaled[last] - logNormaliser);
    }
}
