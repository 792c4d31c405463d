package io.streamrlhf.learner.reward;

import io.streamrlhf.model.RewardFunction;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;

/**
 * The comparisons the reward trainer never trains on, and what it measures on them: the reward
 * model's pairwise accuracy against the labels, beside the ceilings the labels allow.
 *
 * <p>Which comparisons: a fixed share, by a hash of the label request each answers ({@link
 * RankedComparison#group}), so the split does not depend on arrival order, a restart or the other
 * comparisons, and every labeler's ranking of one request lands on the same side (a model that
 * trained on one labeler's ranking of a set would be measured on the same set). The newest {@code
 * capacity} are kept: accuracy on what the labelers rank now, which moves with the policy.
 *
 * <p>The ceilings (TASKS.md "Simulated labelers"; InstructGPT §5.1 reports 72.6% agreement):
 *
 * <ul>
 *   <li><b>labeler agreement</b> — on requests two or more labelers ranked, the share of one
 *       labeler's untied pairs another orders the same way (the later labeler against the earlier;
 *       a tie counts ½), as the offline stage measures labeler 2 against labeler 1;
 *   <li><b>oracle accuracy</b> — on prompts of the task suite, the accuracy against the labels of
 *       the oracle itself: what a reward model that learned the hidden preference exactly scores,
 *       the true ceiling for noisy labels; beside it the reward model against the oracle's order.
 * </ul>
 */
public final class HeldOutComparisons {
  private final int capacity;
  private final ArrayDeque<RankedComparison> kept = new ArrayDeque<>();

  public HeldOutComparisons(int capacity, List<RankedComparison> saved) {
    if (capacity < 1) throw new IllegalArgumentException("capacity must be >= 1: " + capacity);
    this.capacity = capacity;
    saved.forEach(this::add);
  }

  /**
   * Whether comparisons of {@code group} are held out at {@code share}: the first 8 bytes of the
   * group's SHA-256, as a fraction of 2^64, fall below the share.
   */
  public static boolean isHeldOut(String group, double share) {
    try {
      var digest =
          MessageDigest.getInstance("SHA-256").digest(group.getBytes(StandardCharsets.UTF_8));
      long bits = ByteBuffer.wrap(digest).getLong() >>> 11; // 53 uniform bits
      return bits * 0x1.0p-53 < share;
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every JVM has SHA-256", e);
    }
  }

  /** Keeps a held-out comparison, dropping the oldest beyond the capacity. */
  public void add(RankedComparison comparison) {
    kept.addLast(comparison);
    while (kept.size() > capacity) kept.removeFirst();
  }

  public int size() {
    return kept.size();
  }

  /** The kept comparisons, oldest first: what a checkpoint holds. */
  public List<RankedComparison> contents() {
    return List.copyOf(kept);
  }

  /**
   * The held-out figures; NaN where there is no pair to count.
   *
   * @param comparisons held-out comparisons measured on
   * @param pairs their untied pairs
   * @param accuracy share of those pairs the reward model orders like the labeler (a tie ½)
   * @param headAccuracy the same for the scalar head alone (without the likelihood term)
   * @param headAccuracyStandardError its standard error over the comparisons
   * @param labelerAgreement share of pairs a second labeler of the same request orders like the
   *     first
   * @param agreementPairs the pairs the agreement is over
   * @param oracleAccuracy the oracle's accuracy against the labels, on suite prompts
   * @param accuracyVsOracle the reward model's accuracy against the oracle's order, on suite
   *     prompts (pairs of equal oracle score skipped)
   */
  public record Figures(
      int comparisons,
      int pairs,
      double accuracy,
      double headAccuracy,
      double headAccuracyStandardError,
      double labelerAgreement,
      int agreementPairs,
      double oracleAccuracy,
      double accuracyVsOracle) {}

  /**
   * Measures the reward model head + w·log π_SFT: {@code head} scores, the SFT log-likelihoods come
   * with the comparisons.
   */
  public Figures evaluate(RewardFunction head, double likelihoodWeight) {
    var comparisons = contents();
    if (comparisons.isEmpty()) {
      return new Figures(
          0, 0, Double.NaN, Double.NaN, Double.NaN, Double.NaN, 0, Double.NaN, Double.NaN);
    }
    var sets = comparisons.stream().map(RankedComparison::rankedSet).toList();
    var ranks = RewardScoring.ranks(sets);
    var headScores = RewardScoring.score(head, sets);
    var scores = new double[headScores.length][];
    for (int c = 0; c < scores.length; c++) {
      var ll = comparisons.get(c).sftLogLikelihoods();
      scores[c] = new double[headScores[c].length];
      for (int k = 0; k < scores[c].length; k++) {
        scores[c][k] = headScores[c][k] + likelihoodWeight * ll[k];
      }
    }
    var agreement = labelerAgreement(comparisons);
    var oracleRows = new ArrayList<double[]>();
    var labelRows = new ArrayList<int[]>();
    var modelRows = new ArrayList<double[]>();
    var oracleOrders = new ArrayList<int[]>();
    for (int c = 0; c < comparisons.size(); c++) {
      var oracle = comparisons.get(c).oracleScores();
      if (oracle.isEmpty()) continue;
      oracleRows.add(oracle.get());
      labelRows.add(ranks[c]);
      modelRows.add(scores[c]);
      oracleOrders.add(RewardStage.oracleRanks(oracle.get()));
    }
    return new Figures(
        comparisons.size(),
        BradleyTerry.pairs(ranks).size(),
        BradleyTerry.accuracy(scores, ranks),
        BradleyTerry.accuracy(headScores, ranks),
        BradleyTerry.accuracyStandardError(headScores, ranks),
        agreement.rate(),
        agreement.pairs(),
        BradleyTerry.accuracy(oracleRows.toArray(double[][]::new), labelRows.toArray(int[][]::new)),
        BradleyTerry.accuracy(
            modelRows.toArray(double[][]::new), oracleOrders.toArray(int[][]::new)));
  }

  private record Agreement(double rate, int pairs) {}

  /**
   * Every later ranking of a request against every earlier one by another labeler, responses
   * matched by text (a tool may list them in another order); a later labeler's ranks serve as
   * scores (rank 0 best, so −rank), as the offline stage scores labeler 2 against labeler 1.
   */
  private static Agreement labelerAgreement(List<RankedComparison> comparisons) {
    var byGroup = new LinkedHashMap<String, List<RankedComparison>>();
    for (var c : comparisons) byGroup.computeIfAbsent(c.group(), g -> new ArrayList<>()).add(c);
    var first = new ArrayList<int[]>();
    var second = new ArrayList<double[]>();
    for (var group : byGroup.values()) {
      for (int a = 0; a < group.size(); a++) {
        for (int b = a + 1; b < group.size(); b++) {
          var earlier = group.get(a);
          var later = group.get(b);
          if (earlier.labelerId().equals(later.labelerId())) continue;
          var laterRank = new HashMap<String, Integer>();
          for (int k = 0; k < later.k(); k++) {
            laterRank.merge(later.responses().get(k), later.ranks()[k], Math::min);
          }
          // another set (either way round: which of two labelers came first must not matter)
          if (!laterRank.keySet().equals(new java.util.HashSet<>(earlier.responses()))) continue;
          var opinion = new double[earlier.k()];
          for (int k = 0; k < opinion.length; k++) {
            opinion[k] = -laterRank.get(earlier.responses().get(k));
          }
          first.add(earlier.ranks());
          second.add(opinion);
        }
      }
    }
    var firstRanks = first.toArray(int[][]::new);
    return new Agreement(
        BradleyTerry.accuracy(second.toArray(double[][]::new), firstRanks),
        BradleyTerry.pairs(firstRanks).size());
  }
}
