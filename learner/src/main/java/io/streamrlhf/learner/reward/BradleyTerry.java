package io.streamrlhf.learner.reward;

import ai.djl.ndarray.NDArray;
import io.streamrlhf.model.Scalars;
import java.util.ArrayList;
import java.util.List;

/**
 * The reward model's loss on K-wise rankings (InstructGPT, Ouyang et al. 2022, eq. 1):
 *
 * <pre>
 *   loss(θ) = −1/C(K,2) · E_(x, y_w, y_l) [ log σ( r_θ(x, y_w) − r_θ(x, y_l) ) ]
 * </pre>
 *
 * All C(K,2) pairs of a prompt go into one batch — InstructGPT found that treating them as separate
 * data points overfits, since each response then appears in K−1 updates — and the loss is the mean
 * over the pairs. Dividing the summed pair losses by K instead (as the seed code did) scales the
 * loss by (K−1)/2, which silently changes the effective learning rate with K.
 *
 * <p>A ranking is given per response as its rank: {@code ranks[p][k]} is the rank of response k of
 * prompt p, 0 for the best; equal ranks are a tie, and tied pairs carry no preference and are
 * skipped. The mean is over every remaining pair of the batch, so with no ties and the same K for
 * every prompt it is also the mean over prompts of each prompt's pair mean.
 */
public final class BradleyTerry {
  private BradleyTerry() {}

  /**
   * A preference: in prompt {@code prompt}, response {@code winner} beat response {@code loser}.
   */
  public record Pair(int prompt, int winner, int loser) {}

  /** C(K,2): how many pairs a K-wise ranking yields when nothing is tied. */
  public static int pairCount(int k) {
    return k * (k - 1) / 2;
  }

  /** Every untied pair of every prompt, winner first, in a fixed order (prompt, then i < j). */
  public static List<Pair> pairs(int[][] ranks) {
    var pairs = new ArrayList<Pair>();
    for (int p = 0; p < ranks.length; p++) {
      int[] r = ranks[p];
      for (int i = 0; i < r.length; i++) {
        for (int j = i + 1; j < r.length; j++) {
          if (r[i] < r[j]) pairs.add(new Pair(p, i, j));
          else if (r[j] < r[i]) pairs.add(new Pair(p, j, i));
        }
      }
    }
    return pairs;
  }

  /**
   * −mean over pairs of log σ(r_w − r_l), with gradient.
   *
   * @param scores reward-model scores, [P,K] (prompt × response), with gradient
   * @param ranks ranks[p][k] of response k of prompt p (0 = best, equal = tie)
   * @return scalar loss; 0 (still attached to {@code scores}) when every pair is tied
   */
  public static NDArray loss(NDArray scores, int[][] ranks) {
    var shape = scores.getShape();
    if (shape.dimension() != 2 || shape.get(0) != ranks.length) {
      throw new IllegalArgumentException(
          "scores must be [prompts, K] with one ranking per prompt, got " + shape);
    }
    int k = (int) shape.get(1);
    for (int[] r : ranks) {
      if (r.length != k)
        throw new IllegalArgumentException(
            "a ranking has " + r.length + " responses, scores have " + k);
    }
    var pairs = pairs(ranks);
    if (pairs.isEmpty()) return Scalars.times(scores.sum(), 0);
    long[] winners = new long[pairs.size()];
    long[] losers = new long[pairs.size()];
    for (int i = 0; i < pairs.size(); i++) {
      var pair = pairs.get(i);
      winners[i] = (long) pair.prompt() * k + pair.winner();
      losers[i] = (long) pair.prompt() * k + pair.loser();
    }
    var manager = scores.getManager();
    var flat = scores.reshape(-1);
    var margin = flat.take(manager.create(winners)).sub(flat.take(manager.create(losers)));
    return softplus(margin.neg()).mean(); // −log σ(m) = softplus(−m)
  }

  /** The same loss on plain numbers: the reference the tests and the reward trainer's logs use. */
  public static double loss(double[][] scores, int[][] ranks) {
    var pairs = pairs(ranks);
    if (pairs.isEmpty()) return 0;
    double sum = 0;
    for (var pair : pairs) {
      double margin = scores[pair.prompt()][pair.winner()] - scores[pair.prompt()][pair.loser()];
      sum += Math.max(-margin, 0) + Math.log1p(Math.exp(-Math.abs(margin)));
    }
    return sum / pairs.size();
  }

  /**
   * Pairwise accuracy: the share of untied pairs the scores order like the ranking; a pair the
   * model scores exactly equal counts ½. NaN when there is no untied pair.
   */
  public static double accuracy(double[][] scores, int[][] ranks) {
    var pairs = pairs(ranks);
    double agreed = 0;
    for (var pair : pairs) agreed += agreement(scores, pair);
    return agreed / pairs.size();
  }

  /** 1 when {@code scores} order {@code pair} like its ranking, ½ when they tie it, else 0. */
  private static double agreement(double[][] scores, Pair pair) {
    double margin = scores[pair.prompt()][pair.winner()] - scores[pair.prompt()][pair.loser()];
    return margin > 0 ? 1 : margin == 0 ? 0.5 : 0;
  }

  /**
   * The standard error of {@link #accuracy(double[][], int[][])}, with the prompt as the unit: a
   * prompt's pairs share its responses, so they are not independent draws. The accuracy is a ratio
   * of sums over prompts, agreed / pairs, and its delta-method variance over P prompts is
   *
   * <pre>
   *   SE² = P/(P−1) · Σ_p (a_p − acc·n_p)² / (Σ_p n_p)²
   * </pre>
   *
   * with a_p the pairs of prompt p ordered like its ranking (a tie ½) and n_p its untied pairs; P
   * counts the prompts with any. NaN with fewer than two of them.
   */
  public static double accuracyStandardError(double[][] scores, int[][] ranks) {
    var agreed = new double[ranks.length];
    var untied = new int[ranks.length];
    double agreedTotal = 0;
    long pairs = 0;
    for (var pair : pairs(ranks)) {
      double a = agreement(scores, pair);
      agreed[pair.prompt()] += a;
      untied[pair.prompt()]++;
      agreedTotal += a;
      pairs++;
    }
    double accuracy = agreedTotal / pairs;
    int prompts = 0;
    double squares = 0;
    for (int p = 0; p < ranks.length; p++) {
      if (untied[p] == 0) continue;
      prompts++;
      double residual = agreed[p] - accuracy * untied[p];
      squares += residual * residual;
    }
    if (prompts < 2) return Double.NaN;
    return Math.sqrt(prompts / (prompts - 1.0) * squares) / pairs;
  }

  /** {@link #accuracy(double[][], int[][])} of [P,K] scores held in an NDArray. */
  public static double accuracy(NDArray scores, int[][] ranks) {
    int k = (int) scores.getShape().get(1);
    float[] flat = scores.toFloatArray();
    var rows = new double[ranks.length][k];
    for (int p = 0; p < ranks.length; p++) {
      for (int i = 0; i < k; i++) rows[p][i] = flat[p * k + i];
    }
    return accuracy(rows, ranks);
  }

  /**
   * The weight w ≥ 0 that minimises the Bradley-Terry loss of the scores {@code fixed + w·offset}
   * with {@code fixed} held: the loss is convex in w (a one-feature logistic regression on the
   * pairs' offset differences with the fixed differences as intercepts), so Newton's method from w
   * = 0, kept at 0 or above, finds it.
   *
   * <pre>
   *   L(w)   = mean_pairs softplus(−(Δf + w·Δo))
   *   L'(w)  = −mean σ(−m)·Δo,   L''(w) = mean σ(m)·σ(−m)·Δo²,   m = Δf + w·Δo
   * </pre>
   */
  public static double fitOffsetWeight(double[][] fixed, double[][] offset, int[][] ranks) {
    var pairs = pairs(ranks);
    if (pairs.isEmpty()) return 0;
    var df = new double[pairs.size()];
    var dOffset = new double[pairs.size()];
    for (int i = 0; i < df.length; i++) {
      var p = pairs.get(i);
      df[i] = fixed[p.prompt()][p.winner()] - fixed[p.prompt()][p.loser()];
      dOffset[i] = offset[p.prompt()][p.winner()] - offset[p.prompt()][p.loser()];
    }
    double w = 0;
    for (int iteration = 0; iteration < 100; iteration++) {
      double gradient = 0;
      double curvature = 0;
      for (int i = 0; i < df.length; i++) {
        double m = df[i] + w * dOffset[i];
        double sigmaNeg = 1 / (1 + Math.exp(m)); // σ(−m)
        gradient -= sigmaNeg * dOffset[i];
        curvature += sigmaNeg * (1 - sigmaNeg) * dOffset[i] * dOffset[i];
      }
      if (curvature <= 0) break;
      double next = Math.max(0, w - gradient / curvature);
      if (Math.abs(next - w) < 1e-10 * Math.max(1, Math.abs(w))) return next;
      w = next;
    }
    return w;
  }

  /**
   * softplus(x) = log(1 + eˣ) = −log σ(−x), computed as max(x, 0) + log(1 + e^−|x|) so large
   * margins do not overflow.
   */
  private static NDArray softplus(NDArray x) {
    return Scalars.atLeast(x, 0).add(x.abs().neg().exp().add(1f).log());
  }
}
