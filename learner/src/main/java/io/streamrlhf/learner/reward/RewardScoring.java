package io.streamrlhf.learner.reward;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.streamrlhf.model.ComputeDevice;
import io.streamrlhf.model.Gpt;
import io.streamrlhf.model.RewardFunction;
import io.streamrlhf.model.RewardModel;
import io.streamrlhf.model.Scalars;
import io.streamrlhf.model.ScoringBatch;
import java.util.ArrayList;
import java.util.List;

/**
 * A {@link RewardModel} (InstructGPT §3.5: the scalar head at the last real token is r_θ(x, y)) in
 * training and measurement. Builds the Bradley-Terry loss of a batch of ranked sets — all C(K,2)
 * pairs of every prompt together, {@link BradleyTerry#loss} — for the stage's {@code TrainingRun}
 * to minimise, and scores sets without gradient for accuracies and the stored statistics. Knows
 * nothing of where rankings come from: the reward stage feeds it labeler rankings of SFT samples,
 * the tests a synthetic preference.
 */
public final class RewardScoring {
  /** Rows per no-gradient scoring pass, to bound memory when scoring many sets. */
  private static final int SCORING_ROWS = 128;

  private RewardScoring() {}

  /**
   * The loss of one batch and the scores it was computed from.
   *
   * @param loss the mean Bradley-Terry loss over the batch's untied pairs, with gradient
   * @param scores r_θ of every response, [sets, K]
   */
  public record BatchLoss(NDArray loss, NDArray scores) {
    /**
     * Share of the batch's untied pairs the scores order like the ranking (logged, no gradient).
     */
    public double accuracy(List<RankedSet> batch) {
      return BradleyTerry.accuracy(scores.stopGradient(), ranks(batch));
    }
  }

  /**
   * The Bradley-Terry loss of {@code batch} (every set the same K) under {@code model}, in {@code
   * scope}; records the autograd graph when called inside a GradientCollector.
   */
  public static BatchLoss loss(RewardModel model, NDManager scope, List<RankedSet> batch) {
    int k = batch.get(0).k();
    for (var set : batch) {
      if (set.k() != k) throw new IllegalArgumentException("every set of a batch needs the same K");
    }
    var scores = scoresOf(model, scope, batch).reshape(batch.size(), k);
    return new BatchLoss(BradleyTerry.loss(scores, ranks(batch)), scores);
  }

  /**
   * The loss of a batch whose sets may differ in K (comparisons from a stream: labelers and tools
   * may rank different numbers of answers), and the share of its untied pairs the scores order like
   * the rankings.
   *
   * @param loss the mean Bradley-Terry loss over every untied pair of the batch, with gradient
   * @param accuracy batch pairwise accuracy (logged, no gradient); NaN when every pair is tied
   * @param pairs the untied pairs the mean is over
   */
  public record PooledLoss(NDArray loss, double accuracy, int pairs) {}

  /**
   * {@link #loss} of a batch of sets of any K: one forward pass per K, each group's mean weighted
   * by its untied pairs, so the result is the mean over every untied pair of the batch — with one K
   * the same number as {@link #loss}.
   */
  public static PooledLoss pooledLoss(RewardModel model, NDManager scope, List<RankedSet> batch) {
    var byK = new java.util.LinkedHashMap<Integer, List<RankedSet>>();
    for (var set : batch) byK.computeIfAbsent(set.k(), k -> new ArrayList<>()).add(set);
    NDArray sum = null;
    double agreed = 0;
    int pairs = 0;
    for (var group : byK.values()) {
      var groupLoss = loss(model, scope, group);
      int groupPairs = BradleyTerry.pairs(ranks(group)).size();
      var weighted = Scalars.times(groupLoss.loss(), groupPairs);
      sum = sum == null ? weighted : sum.add(weighted);
      if (groupPairs > 0) agreed += groupLoss.accuracy(group) * groupPairs;
      pairs += groupPairs;
    }
    if (sum == null) throw new IllegalArgumentException("an empty batch has no loss");
    return pairs == 0
        ? new PooledLoss(sum, Double.NaN, 0)
        : new PooledLoss(Scalars.times(sum, 1.0 / pairs), agreed / pairs, pairs);
  }

  /** r_θ of every response of every set under {@code rewardModel}, [sets][K], without gradient. */
  public static double[][] score(RewardFunction rewardModel, List<RankedSet> sets) {
    var prompts = new ArrayList<int[]>();
    var responses = new ArrayList<int[]>();
    for (var set : sets) {
      for (var response : set.responses()) {
        prompts.add(set.prompt());
        responses.add(response);
      }
    }
    var flat = score(rewardModel, prompts, responses);
    var out = new double[sets.size()][];
    int offset = 0;
    for (int i = 0; i < sets.size(); i++) {
      out[i] = java.util.Arrays.copyOfRange(flat, offset, offset + sets.get(i).k());
      offset += out[i].length;
    }
    return out;
  }

  /**
   * r_θ of each prompt + response under {@code rewardModel}, without gradient, {@value
   * #SCORING_ROWS} rows per pass.
   */
  public static double[] score(
      RewardFunction rewardModel, List<int[]> prompts, List<int[]> responses) {
    var out = new double[prompts.size()];
    for (int start = 0; start < prompts.size(); start += SCORING_ROWS) {
      int end = Math.min(prompts.size(), start + SCORING_ROWS);
      var chunkPrompts = prompts.subList(start, end);
      var chunkResponses = responses.subList(start, end);
      float[] flat =
          Gpt.withoutGradient(
              () -> {
                try (NDManager scope = ComputeDevice.scope()) {
                  return rewardModel
                      .scores(ScoringBatch.of(scope, chunkPrompts, chunkResponses))
                      .toFloatArray();
                }
              });
      for (int i = 0; i < flat.length; i++) out[start + i] = flat[i];
    }
    return out;
  }

  /**
   * Pairwise accuracy of {@code rewardModel}'s scores against the sets' rankings (untied pairs).
   */
  public static double accuracy(RewardFunction rewardModel, List<RankedSet> sets) {
    return BradleyTerry.accuracy(score(rewardModel, sets), ranks(sets));
  }

  public static int[][] ranks(List<RankedSet> sets) {
    return sets.stream().map(RankedSet::ranks).toArray(int[][]::new);
  }

  /** Scores of every response, set by set, flattened to [Σ K]. */
  private static NDArray scoresOf(RewardFunction model, NDManager scope, List<RankedSet> sets) {
    var prompts = new ArrayList<int[]>();
    var responses = new ArrayList<int[]>();
    for (var set : sets) {
      for (var response : set.responses()) {
        prompts.add(set.prompt());
        responses.add(response);
      }
    }
    return model.scores(ScoringBatch.of(scope, prompts, responses));
  }
}
