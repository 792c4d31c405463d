package io.streamrlhf.learner.reward;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class BradleyTerryTest {
  private static NDManager manager;

  @BeforeAll
  static void open() {
    manager = NDManager.newBaseManager();
  }

  @AfterAll
  static void close() {
    manager.close();
  }

  // −log σ(m) = log(1 + e^−m):  m=2: 0.1269280, m=1.5: 0.2014133, m=1: 0.3132617,
  //                             m=0.5: 0.4740770, m=−0.5: 0.9740770

  @Test
  void threeWayRankingAveragesOverItsThreePairs() {
    // scores (1, 0, −1), ranked 0 > 1 > 2: margins 1 (0>1), 2 (0>2), 1 (1>2)
    // (0.3132617 + 0.1269280 + 0.3132617) / 3 = 0.2511505
    double[][] scores = {{1, 0, -1}};
    int[][] ranks = {{0, 1, 2}};
    assertThat(BradleyTerry.pairCount(3)).isEqualTo(3);
    assertThat(BradleyTerry.pairs(ranks)).hasSize(3);
    assertThat(BradleyTerry.loss(scores, ranks)).isCloseTo(0.2511505, within(1e-6));
    var loss = BradleyTerry.loss(manager.create(new float[] {1, 0, -1}, new Shape(1, 3)), ranks);
    assertThat(loss.getFloat()).isCloseTo(0.2511505f, within(1e-6f));
  }

  @Test
  void fourWayRankingAveragesOverSixPairsNotK() {
    // scores (0.5, 1.5, −0.5, 0), ranked 1 > 0 > 2 > 3 (ranks 1, 0, 2, 3). Pairs, winner − loser:
    //   1>0: 1.0  1>2: 2.0  1>3: 1.5  0>2: 1.0  0>3: 0.5  2>3: −0.5 (the model disagrees)
    // sum = 0.3132617 + 0.1269280 + 0.2014133 + 0.3132617 + 0.4740770 + 0.9740770 = 2.4030187
    // mean over C(4,2) = 6 pairs: 0.4005031  (dividing by K = 4 would give 0.6007547)
    double[][] scores = {{0.5, 1.5, -0.5, 0}};
    int[][] ranks = {{1, 0, 2, 3}};
    assertThat(BradleyTerry.pairCount(4)).isEqualTo(6);
    assertThat(BradleyTerry.pairs(ranks)).hasSize(6);
    assertThat(BradleyTerry.loss(scores, ranks)).isCloseTo(0.4005031, within(1e-6));
    var loss =
        BradleyTerry.loss(
            manager.create(new float[] {0.5f, 1.5f, -0.5f, 0}, new Shape(1, 4)), ranks);
    assertThat(loss.getFloat()).isCloseTo(0.4005031f, within(1e-6f));
    // 5 of 6 pairs ordered right
    assertThat(BradleyTerry.accuracy(scores, ranks)).isCloseTo(5.0 / 6, within(1e-12));
    // a pair the model scores exactly equal is half right: (1, 1, 0) ranked 0 > 1 > 2
    assertThat(BradleyTerry.accuracy(new double[][] {{1, 1, 0}}, new int[][] {{0, 1, 2}}))
        .isCloseTo((0.5 + 1 + 1) / 3, within(1e-12));
  }

  @Test
  void accuracyStandardErrorTakesThePromptAsTheUnit() {
    // prompt 0: (1, 0, −1) ranked 0 > 1 > 2, 3 of 3 pairs right; prompt 1: (0, 1) ranked 0 > 1, 0
    // of 1; prompt 2: (1, −1, 0) ranked 0 > 1 > 2, 2 of 3 (1 > 2 wrong); prompt 3: all tied, none.
    // accuracy 5/7; residuals a − acc·n: 3 − 15/7 = 6/7, 0 − 5/7, 2 − 15/7 = −1/7, squares 62/49
    // SE² = 3/2 · (62/49) / 7² = 93/2401, SE = √93 / 49 = 0.1968092
    double[][] scores = {{1, 0, -1}, {0, 1}, {1, -1, 0}, {0, 0}};
    int[][] ranks = {{0, 1, 2}, {0, 1}, {0, 1, 2}, {0, 0}};
    assertThat(BradleyTerry.accuracy(scores, ranks)).isCloseTo(5.0 / 7, within(1e-12));
    assertThat(BradleyTerry.accuracyStandardError(scores, ranks))
        .isCloseTo(Math.sqrt(93) / 49, within(1e-12));
    // treating the 7 pairs as independent would give √(acc(1−acc)/7) = 0.1707469: not what is asked
    assertThat(BradleyTerry.accuracyStandardError(scores, ranks))
        .isNotCloseTo(Math.sqrt(5.0 / 7 * 2 / 7 / 7), within(1e-3));
    // one prompt with pairs: no spread to measure
    assertThat(BradleyTerry.accuracyStandardError(new double[][] {{1, 0}}, new int[][] {{0, 1}}))
        .isNaN();
  }

  @Test
  void tiedPairsAreSkipped() {
    // scores (1, 0, −1), ranks (0, 0, 1): 0~1 tied, skipped; 0>2 margin 2, 1>2 margin 1
    // (0.1269280 + 0.3132617) / 2 = 0.2200949
    int[][] ranks = {{0, 0, 1}};
    assertThat(BradleyTerry.pairs(ranks))
        .containsExactly(new BradleyTerry.Pair(0, 0, 2), new BradleyTerry.Pair(0, 1, 2));
    assertThat(BradleyTerry.loss(new double[][] {{1, 0, -1}}, ranks))
        .isCloseTo(0.2200949, within(1e-6));
    var loss = BradleyTerry.loss(manager.create(new float[] {1, 0, -1}, new Shape(1, 3)), ranks);
    assertThat(loss.getFloat()).isCloseTo(0.2200949f, within(1e-6f));
    assertThat(BradleyTerry.pairs(new int[][] {{2, 2, 2}})).isEmpty();
  }

  @Test
  void batchOfPromptsAveragesOverAllPairsWithoutCrossingPrompts() {
    // prompt 0: scores (1, 0, −1), 0 > 1 > 2: 0.3132617 + 0.1269280 + 0.3132617 = 0.7534514
    // prompt 1: scores (−2, 3, 0.5), ranks (2, 0, 1) i.e. 1 > 2 > 0: margins 1>0 5, 1>2 2.5, 2>0
    // 2.5
    //   log(1+e^−5) + 2·log(1+e^−2.5) = 0.0067153 + 2·0.0788897 = 0.1644947
    // mean over 6 pairs: (0.7534514 + 0.1644947) / 6 = 0.1529910
    double[][] scores = {{1, 0, -1}, {-2, 3, 0.5}};
    int[][] ranks = {{0, 1, 2}, {2, 0, 1}};
    assertThat(BradleyTerry.pairs(ranks)).hasSize(6);
    assertThat(BradleyTerry.loss(scores, ranks)).isCloseTo(0.1529910, within(1e-6));
    var tensor = manager.create(new float[] {1, 0, -1, -2, 3, 0.5f}, new Shape(2, 3));
    assertThat(BradleyTerry.loss(tensor, ranks).getFloat()).isCloseTo(0.1529910f, within(1e-6f));
    assertThat(BradleyTerry.accuracy(tensor, ranks)).isEqualTo(1.0);
  }

  @Test
  void gradientPushesWinnerUpAndLoserDown() {
    // ∂L/∂r_w = −σ(−m)/pairs per pair won, +σ(−m)/pairs per pair lost. Scores (1, 0, −1), 0 > 1 >
    // 2:
    //   r_0: −(σ(−1) + σ(−2))/3 = −(0.2689414 + 0.1192029)/3 = −0.1293814
    //   r_1: (+σ(−1) − σ(−1))/3 = 0;   r_2: +0.1293814
    var scores = manager.create(new float[] {1, 0, -1}, new Shape(1, 3));
    scores.setRequiresGradient(true);
    try (var collector = Engine.getInstance().newGradientCollector()) {
      collector.backward(BradleyTerry.loss(scores, new int[][] {{0, 1, 2}}));
    }
    // gradient descent subtracts the gradient: the winner's score goes up, the loser's down
    assertThat(scores.getGradient().toFloatArray())
        .containsExactly(new float[] {-0.1293814f, 0f, 0.1293814f}, within(1e-6f));
  }

  @Test
  void largeMarginsStayFinite() {
    // the winner scored far below the loser: −log σ(−400) = 400 (to float precision)
    var loss =
        BradleyTerry.loss(
            manager.create(new float[] {-200, 200}, new Shape(1, 2)), new int[][] {{0, 1}});
    assertThat(loss.getFloat()).isCloseTo(400f, within(1e-3f));
    assertThat(BradleyTerry.loss(new double[][] {{-200, 200}}, new int[][] {{0, 1}}))
        .isCloseTo(400, within(1e-9));
  }

  @Test
  void fittedOffsetWeightIsTheMinimumOfTheLossOverAFineGrid() {
    var rng = new java.util.SplittableRandom(7);
    int prompts = 60;
    var fixed = new double[prompts][4];
    var offset = new double[prompts][4];
    var ranks = new int[prompts][4];
    for (int p = 0; p < prompts; p++) {
      for (int k = 0; k < 4; k++) {
        double truth = rng.nextGaussian();
        fixed[p][k] = truth + rng.nextGaussian(); // a noisy view of the truth
        offset[p][k] = 2 * truth + 3 * rng.nextGaussian(); // another, on another scale
        ranks[p][k] = 0;
      }
      // rank by the truth-driven scores plus noise: the offset carries information the fixed part
      // lacks
      var order = new Integer[] {0, 1, 2, 3};
      final int prompt = p;
      double[] noisy = new double[4];
      for (int k = 0; k < 4; k++)
        noisy[k] = fixed[prompt][k] + 0.5 * offset[prompt][k] + rng.nextGaussian();
      java.util.Arrays.sort(order, (a, b) -> Double.compare(noisy[b], noisy[a]));
      for (int r = 0; r < 4; r++) ranks[prompt][order[r]] = r;
    }
    double w = BradleyTerry.fitOffsetWeight(fixed, offset, ranks);
    double best = Double.NaN;
    double bestLoss = Double.POSITIVE_INFINITY;
    for (double grid = 0; grid <= 3; grid += 1e-4) {
      double loss = BradleyTerry.loss(combined(fixed, offset, grid), ranks);
      if (loss < bestLoss) {
        bestLoss = loss;
        best = grid;
      }
    }
    assertThat(w).isPositive().isCloseTo(best, within(2e-4));
    // an offset that only hurts gets weight 0 (the fit keeps w >= 0)
    var reversed = new double[prompts][4];
    for (int p = 0; p < prompts; p++) for (int k = 0; k < 4; k++) reversed[p][k] = -offset[p][k];
    assertThat(BradleyTerry.fitOffsetWeight(fixed, reversed, ranks)).isZero();
  }

  private static double[][] combined(double[][] fixed, double[][] offset, double w) {
    var out = new double[fixed.length][];
    for (int p = 0; p < fixed.length; p++) {
      out[p] = new double[fixed[p].length];
      for (int k = 0; k < fixed[p].length; k++) out[p][k] = fixed[p][k] + w * offset[p][k];
    }
    return out;
  }
}
