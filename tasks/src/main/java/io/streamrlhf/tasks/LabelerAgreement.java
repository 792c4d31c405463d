package io.streamrlhf.tasks;

import java.util.List;

/**
 * How often two labelers order a pair of responses the same way, and the labeler noise β that makes
 * that happen at a target rate: InstructGPT reports 72.6 ± 1.5% inter-labeler agreement (Ouyang et
 * al. 2022, section 5.1), hence the default target {@value #DEFAULT_TARGET}.
 *
 * <p>Every pair of every K-set counts, including pairs with equal oracle scores, which two noisy
 * labelers order alike only half the time; a response set with many such ties cannot reach a high
 * target, and {@link #calibrate} says so instead of returning a β that misses it.
 */
public final class LabelerAgreement {
  public static final double DEFAULT_TARGET = 0.73;

  /** The two labelers that measure the achieved agreement. */
  static final int FIRST_ID = 1;

  static final int SECOND_ID = 2;

  private LabelerAgreement() {}

  /** Agreement counted over pairs: the share of same-direction orderings. */
  public record Measurement(long agreeing, long pairs) {
    public double rate() {
      return pairs == 0 ? Double.NaN : (double) agreeing / pairs;
    }

    /**
     * Binomial standard error of {@link #rate()} (pairs of one K-set are treated as independent).
     */
    public double standardError() {
      double p = rate();
      return Math.sqrt(p * (1 - p) / pairs);
    }
  }

  /**
   * The outcome of {@link #calibrate}: β, the agreement it should give, and the agreement two
   * labelers with that β actually reached on the set.
   */
  public record Calibration(
      double beta,
      double target,
      double expectedAgreement,
      Measurement measured,
      int sets,
      long pairs,
      long tiedPairs) {
    /** The most agreement the sets allow: untied pairs always agree as β → 0, tied ones half. */
    public double ceiling() {
      return LabelerAgreement.ceiling(pairs, tiedPairs);
    }
  }

  private static double ceiling(long pairs, long tiedPairs) {
    return 1 - 0.5 * tiedPairs / pairs;
  }

  /**
   * How much of the way from chance (0.5) to the {@linkplain Calibration#ceiling ceiling} {@link
   * #calibrateWithinReach} aims when the target is out of reach.
   */
  static final double SHARE_OF_REACH = 0.9;

  /**
   * Both labelers rank every K-set of oracle scores once; their agreement over all C(K,2) pairs.
   */
  public static Measurement measure(Labeler a, Labeler b, List<double[]> scoreSets) {
    long agreeing = 0;
    long pairs = 0;
    for (var scores : scoreSets) {
      var pa = Labeler.positions(a.rank(scores));
      var pb = Labeler.positions(b.rank(scores));
      for (int i = 0; i < scores.length; i++) {
        for (int j = i + 1; j < scores.length; j++) {
          pairs++;
          if ((pa[i] < pa[j]) == (pb[i] < pb[j])) {
            agreeing++;
          }
        }
      }
    }
    return new Measurement(agreeing, pairs);
  }

  /**
   * The agreement two independent labelers with noise β reach in expectation: a pair with score gap
   * d is ordered the same way by one labeler with p = σ(d/β) (the difference of two Gumbel(0, β)
   * draws is Logistic(0, β)), so two agree with p² + (1 − p)². Decreasing in β.
   */
  public static double expected(double beta, List<double[]> scoreSets) {
    double sum = 0;
    long pairs = 0;
    for (var scores : scoreSets) {
      for (int i = 0; i < scores.length; i++) {
        for (int j = i + 1; j < scores.length; j++) {
          double gap = Math.abs(scores[i] - scores[j]);
          // p = σ(−gap/β) is the chance of the minority order; agreement = 1 − 2p(1 − p).
          // β = 0 is the oracle itself: deterministic, ties in index order, always agreeing.
          double p = beta == 0 ? 0 : 1 / (1 + Math.exp(gap / beta));
          sum += 1 - 2 * p * (1 - p);
          pairs++;
        }
      }
    }
    return sum / pairs;
  }

  /**
   * {@link #calibrate} to {@code target} when the sets allow it; when their tied pairs cap the
   * agreement at or below it, to {@value #SHARE_OF_REACH} of the way from chance to that cap
   * instead (the result's {@code target} says which), so a set of samples with many equal oracle
   * scores still gives labelers that are as consistent as such samples let them be.
   *
   * @throws IllegalArgumentException when the sets hold no untied pair (nothing to calibrate on)
   */
  public static Calibration calibrateWithinReach(
      List<double[]> scoreSets, double target, long seed, int rounds) {
    long[] counted = countPairs(scoreSets);
    if (counted[0] > 0 && target >= ceiling(counted[0], counted[1])) {
      target = 0.5 + SHARE_OF_REACH * (ceiling(counted[0], counted[1]) - 0.5);
    }
    return calibrate(scoreSets, target, seed, rounds);
  }

  /** {pairs, pairs with equal scores} over every set's C(K,2) pairs. */
  private static long[] countPairs(List<double[]> scoreSets) {
    long pairs = 0;
    long tied = 0;
    for (var scores : scoreSets) {
      for (int i = 0; i < scores.length; i++) {
        for (int j = i + 1; j < scores.length; j++) {
          pairs++;
          if (scores[i] == scores[j]) {
            tied++;
          }
        }
      }
    }
    return new long[] {pairs, tied};
  }

  /**
   * Finds β so that two labelers agree on {@code target} of the pairs of {@code scoreSets}:
   * bisection on log β against {@link #expected}, which is smooth and monotone, then a measurement
   * with two fresh labelers (ids 1 and 2, streams from {@code seed}) ranking every set {@code
   * rounds} times, so the reported agreement is observed, not assumed.
   *
   * @throws IllegalArgumentException when the target is not in (0.5, the ceiling the set's tied
   *     pairs allow)
   */
  public static Calibration calibrate(
      List<double[]> scoreSets, double target, long seed, int rounds) {
    long[] counted = countPairs(scoreSets);
    long pairs = counted[0];
    long tied = counted[1];
    if (pairs == 0) {
      throw new IllegalArgumentException(
          "no pairs to calibrate on: give at least one set of 2+ responses");
    }
    // As β → 0+ untied pairs always agree and tied pairs agree half the time.
    double ceiling = ceiling(pairs, tied);
    if (!(target > 0.5 && target < ceiling)) {
      throw new IllegalArgumentException(
          String.format(
              "target agreement %.3f is out of reach on this set: it must lie between 0.5 (β → ∞)"
                  + " and %.3f (β → 0; %d of %d pairs have equal oracle scores)",
              target, ceiling, tied, pairs));
    }
    double lo = Math.log(1e-6); // expected(lo) > target
    double hi = Math.log(1e6); // expected(hi) < target
    for (int step = 0; step < 200; step++) {
      double mid = (lo + hi) / 2;
      if (expected(Math.exp(mid), scoreSets) > target) {
        lo = mid;
      } else {
        hi = mid;
      }
    }
    double beta = Math.exp((lo + hi) / 2);
    var first = new Labeler(FIRST_ID, beta, seed);
    var second = new Labeler(SECOND_ID, beta, seed);
    long agreeing = 0;
    long compared = 0;
    for (int round = 0; round < rounds; round++) {
      var m = measure(first, second, scoreSets);
      agreeing += m.agreeing();
      compared += m.pairs();
    }
    return new Calibration(
        beta,
        target,
        expected(beta, scoreSets),
        new Measurement(agreeing, compared),
        scoreSets.size(),
        pairs,
        tied);
  }
}
