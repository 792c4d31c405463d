package io.streamrlhf.tasks;

import java.util.Comparator;
import java.util.List;
import java.util.function.BiPredicate;

/**
 * A simulated labeler (TASKS.md "Simulated labelers"): ranks K responses to one prompt by the
 * oracle's score plus Gumbel noise of scale β. Ranking by score + Gumbel is a draw from the
 * Plackett-Luce model with utilities score/β, so any two responses are ordered i over j with
 * probability σ((s_i − s_j)/β): the Bradley-Terry model the reward model is trained under.
 *
 * <p>Each labeler has its own id and its own random stream, derived from (seed, id).
 */
public final class Labeler {
  private final int id;
  private final double beta;
  private final SplitMix64 rng;

  public Labeler(int id, double beta, long seed) {
    if (!(beta >= 0) || Double.isInfinite(beta)) {
      throw new IllegalArgumentException(
          "labeler noise scale beta must be finite and >= 0: " + beta);
    }
    this.id = id;
    this.beta = beta;
    this.rng = SplitMix64.stream(seed, "labeler-" + id);
  }

  public int id() {
    return id;
  }

  public double beta() {
    return beta;
  }

  /**
   * Indices of {@code scores}, best first, by score + β·Gumbel(0, 1). With β = 0 this is the
   * oracle's order, ties kept in index order.
   */
  public int[] rank(double[] scores) {
    var noisy = new double[scores.length];
    for (int i = 0; i < scores.length; i++) {
      // Standard Gumbel by inversion: −ln(−ln U), U uniform on (0, 1).
      double gumbel = -Math.log(-Math.log(rng.nextOpenDouble()));
      noisy[i] = scores[i] + beta * gumbel;
    }
    return java.util.stream.IntStream.range(0, scores.length)
        .boxed()
        .sorted(Comparator.comparingDouble((Integer i) -> noisy[i]).reversed())
        .mapToInt(Integer::intValue)
        .toArray();
  }

  /** Ranks {@code responses} to {@code prompt} by their oracle scores plus this labeler's noise. */
  public int[] rank(String prompt, List<Completion> responses) {
    var task = Task.parse(prompt);
    return rank(responses.stream().mapToDouble(r -> Oracle.grade(task, r).score()).toArray());
  }

  @Override
  public String toString() {
    return "Labeler[id=" + id + ", beta=" + beta + "]";
  }

  /**
   * Ranks (0 best) of K responses from an ordering of them, best first (as {@link #rank} returns),
   * with copies tied: see {@link #tieCopies}.
   */
  public static <T> int[] ranks(
      int[] bestFirst, List<T> responses, BiPredicate<? super T, ? super T> same) {
    return tieCopies(positions(bestFirst), responses, same);
  }

  /**
   * {@code ranks} with every copy of a response given the rank of its first copy in the list, so
   * that copies tie (a tie carries no preference and the loss skips it). Two copies of one response
   * are one answer ranked twice under independent noise: whichever came first is noise. The first
   * copy by position, which the noise does not choose, keeps an unbiased draw; the best rank of the
   * copies would hand a response the policy repeats the best of its draws (x, x and y of equal
   * score: x ahead of y in 2/3 of the pairs instead of 1/2), and the reward model would learn to
   * prefer what is sampled often.
   */
  public static <T> int[] tieCopies(
      int[] ranks, List<T> responses, BiPredicate<? super T, ? super T> same) {
    if (ranks.length != responses.size())
      throw new IllegalArgumentException(
          ranks.length + " ranks for " + responses.size() + " responses");
    var tied = ranks.clone();
    for (int i = 0; i < tied.length; i++) {
      for (int first = 0; first < i; first++) {
        if (same.test(responses.get(first), responses.get(i))) {
          tied[i] = ranks[first];
          break;
        }
      }
    }
    return tied;
  }

  static int[] positions(int[] ranking) {
    var position = new int[ranking.length];
    for (int rank = 0; rank < ranking.length; rank++) {
      position[ranking[rank]] = rank;
    }
    return position;
  }
}
