package io.streamrlhf.tasks;

import java.util.Comparator;
import java.util.List;

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

  static int[] positions(int[] ranking) {
    var position = new int[ranking.length];
    for (int rank = 0; rank < ranking.length; rank++) {
      position[ranking[rank]] = rank;
    }
    return position;
  }
}
