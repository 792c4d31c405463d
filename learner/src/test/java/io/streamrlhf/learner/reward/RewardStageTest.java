package io.streamrlhf.learner.reward;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamrlhf.learner.config.RewardConfig;
import io.streamrlhf.learner.reward.RewardStage.FamilyAccuracy;
import io.streamrlhf.tasks.Family;
import java.util.List;
import org.junit.jupiter.api.Test;

class RewardStageTest {
  /**
   * What the stage saves, by hand on two held-out sets (labels 0 over 1 in both; the oracle agrees
   * on the first, reverses the second): the score is right on one set, the head on both, so the
   * head's error is 0; against the oracle's order the score is wrong on both; the score's spread is
   * the population's (0, 1, 1, 0: std 0.5), uncorrelated with the lengths 1, 2, 1, 2.
   */
  @Test
  void theSavedFiguresByHand() {
    var set =
        new RankedSet(new int[] {1}, List.of(new int[] {1}, new int[] {2, 3}), new int[] {0, 1});
    var data =
        new RewardData(
            0.5, 0.7, List.of(), List.of(set, set), List.of(new int[] {0, 1}, new int[] {1, 0}));
    var stats =
        RewardStage.measure(
            new double[][] {{0, 1}, {1, 0}},
            new double[][] {{1, 0}, {1, 0}},
            0.5,
            data,
            RewardConfig.defaults(),
            0.4);
    assertThat(stats.heldOutAccuracy()).isEqualTo(0.5);
    assertThat(stats.headAccuracy()).isEqualTo(1.0);
    assertThat(stats.headAccuracyStandardError()).isZero();
    assertThat(stats.heldOutAccuracyVsOracle()).isZero();
    assertThat(stats.scoreMean()).isEqualTo(0.5);
    assertThat(stats.scoreStd()).isEqualTo(0.5);
    assertThat(stats.scoreLengthCorrelation()).isZero();
    assertThat(stats.heldOutPairs()).isEqualTo(2);
    assertThat(stats.likelihoodWeight()).isEqualTo(0.5);
    assertThat(stats.heldOutAccuracyBeforeTraining()).isEqualTo(0.4);
  }

  @Test
  void heldOutAccuracyByFamilyCountsEachFamilysPairsAgainstItsOwnReferences() {
    // three prompts of K = 2, response 0 ranked first by labeler 1 everywhere
    var families = List.of(Family.ADD, Family.COLOR, Family.ADD);
    int[][] labeler = {{0, 1}, {0, 1}, {0, 1}};
    int[][] oracle = {{1, 0}, {0, 1}, {0, 1}};
    double[][] head = {{1, 0}, {0, 1}, {0, 0}}; // agrees, disagrees, ties
    double[][] score = {{1, 0}, {2, 1}, {0, 1}}; // agrees, agrees, disagrees

    var byFamily = RewardStage.byFamily(families, score, head, labeler, oracle);

    // add: the head agrees with labeler 1 on prompt 0 and ties prompt 2, (1 + ½) / 2; the oracle
    // prefers response 1 on prompt 0 (head wrong) and ties on the head's tie, (0 + ½) / 2
    assertThat(byFamily).containsOnlyKeys(Family.ADD, Family.COLOR);
    assertThat(byFamily.keySet()).containsExactly(Family.ADD, Family.COLOR);
    assertThat(byFamily.get(Family.ADD)).isEqualTo(new FamilyAccuracy(0.75, 0.25, 0.5));
    assertThat(byFamily.get(Family.COLOR)).isEqualTo(new FamilyAccuracy(0.0, 0.0, 1.0));
  }

  @Test
  void aFigureNothingMeasuredReadsNotApplicableRatherThanNaN() {
    // every pair of a family tied under the oracle: no order to agree with
    assertThat(new FamilyAccuracy(1.0, Double.NaN, 0.75).format()).isEqualTo("1.000/n/a (0.750)");
    assertThat(RewardStage.figure(0.7064)).isEqualTo("0.706");
  }
}
