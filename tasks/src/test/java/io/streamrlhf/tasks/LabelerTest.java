package io.streamrlhf.tasks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class LabelerTest {

  /**
   * A fixed response set standing in for SFT samples: per prompt, K = 4 responses of mixed quality
   * (the reference, a one-letter slip, an unterminated copy, something unrelated).
   */
  static List<double[]> fixedResponseSet(int prompts) {
    var rng = new SplitMix64(123);
    var source = new TrainingPrompts(77);
    var sets = new ArrayList<double[]>();
    for (int p = 0; p < prompts; p++) {
      var task = source.next();
      var a = task.reference();
      var responses =
          List.of(
              new Completion(rng.nextBoolean(0.5) ? a : a + "x", true),
              new Completion(a.substring(0, Math.max(0, a.length() - 1 - rng.nextInt(2))), true),
              new Completion(a + " " + a, rng.nextBoolean(0.5)),
              new Completion(Family.word(rng), rng.nextBoolean(0.8)));
      sets.add(responses.stream().mapToDouble(r -> Oracle.grade(task, r).score()).toArray());
    }
    return sets;
  }

  /**
   * x, its copy and y, all of one score: a copy is the same answer, so x is ahead of y in half the
   * pairs, as without the copy. Tying copies at their best rank gave x the better of two noise
   * draws: 2/3.
   */
  @Test
  void aResponseSampledTwiceIsNotPreferredForIt() {
    var labeler = new Labeler(3, 1.0, 11);
    var responses = List.of("x", "x", "y");
    int rankings = 20_000;
    long xAhead = 0, pairs = 0;
    for (int n = 0; n < rankings; n++) {
      int[] ranks = Labeler.ranks(labeler.rank(new double[3]), responses, String::equals);
      assertThat(ranks[1]).as("copies tie").isEqualTo(ranks[0]);
      for (int copy = 0; copy < 2; copy++) {
        pairs++;
        if (ranks[copy] < ranks[2]) xAhead++;
      }
    }
    // the two copies' pairs repeat one draw: 20,000 independent ones, standard error 0.0035
    assertThat((double) xAhead / pairs).isCloseTo(0.5, within(0.015));
  }

  @Test
  void aCopyTakesItsFirstCopysRankWhereverTheLabelerPutIt() {
    // best first: response 3, 1, 2, 0; responses 0 and 3 are copies, 3 ranked best
    assertThat(Labeler.ranks(new int[] {3, 1, 2, 0}, List.of("a", "b", "c", "a"), String::equals))
        .containsExactly(3, 1, 2, 3);
    assertThat(Labeler.tieCopies(new int[] {0, 0, 1}, List.of("p", "q", "q"), String::equals))
        .containsExactly(0, 0, 0);
    // an ordering that is not its own inverse: response 2 first, then 0, 1, 3
    assertThat(Labeler.ranks(new int[] {2, 0, 1, 3}, List.of("a", "b", "c", "d"), String::equals))
        .containsExactly(1, 2, 0, 3);
    // three copies: all take the first one's rank, not the second's
    assertThat(Labeler.tieCopies(new int[] {1, 2, 0}, List.of("x", "x", "x"), String::equals))
        .containsExactly(1, 1, 1);
  }

  /**
   * Score + β·Gumbel(0, 1) ranks by Plackett-Luce: the first place goes to i with probability
   * exp(s_i/β) / Σ exp(s_j/β). With K = 3 this tells the noise's sign, which two responses cannot
   * (the difference of two Gumbel-min draws is logistic too): scores (1, 0, 0), β = 1, e/(e + 2).
   */
  @Test
  void theFirstPlaceFollowsPlackettLuce() {
    var labeler = new Labeler(4, 1.0, 13);
    int rankings = 20_000;
    int first = 0;
    for (int n = 0; n < rankings; n++) if (labeler.rank(new double[] {1, 0, 0})[0] == 0) first++;
    // standard error 0.0035; Gumbel-min noise gives about 0.62
    assertThat((double) first / rankings).isCloseTo(Math.E / (Math.E + 2), within(0.015));
  }

  @Test
  void agreementsStandardErrorIsTheBinomialOnesByHand() {
    // 3 of 4 pairs agree: sqrt(0.75 * 0.25 / 4) = 0.2165064
    var m = new LabelerAgreement.Measurement(3, 4);
    assertThat(m.rate()).isEqualTo(0.75);
    assertThat(m.standardError()).isCloseTo(Math.sqrt(0.75 * 0.25 / 4), within(1e-12));
  }

  @Test
  void withVanishingNoiseLabelersRankInTheOraclesOrder() {
    var labeler = new Labeler(7, 1e-9, 1);
    var prompt = "Reverse cat.";
    var responses =
        List.of(
            new Completion("tca", true), // 1 - 2/3 + 0.5
            new Completion("tac", true), // 3.5
            new Completion("idiot", true), // toxic, negative
            new Completion("tac", false), // 3.0
            new Completion("ta", true)); // 1 - 1/3 + 0.5
    for (int trial = 0; trial < 100; trial++) {
      assertThat(labeler.rank(prompt, responses)).containsExactly(1, 3, 4, 0, 2);
    }
  }

  @Test
  void labelersWithVanishingNoiseAgreeWithEachOtherAlways() {
    var sets = fixedResponseSet(300).stream().filter(LabelerTest::untied).toList();
    var m = LabelerAgreement.measure(new Labeler(1, 1e-9, 5), new Labeler(2, 1e-9, 5), sets);
    assertThat(m.rate()).isEqualTo(1.0);
  }

  @Test
  void labelersHaveTheirOwnStreams() {
    var scores = new double[] {1, 1, 1, 1, 1, 1, 1, 1};
    var a = new Labeler(1, 1.0, 9);
    var b = new Labeler(2, 1.0, 9);
    var again = new Labeler(1, 1.0, 9);
    var ra = a.rank(scores);
    assertThat(again.rank(scores)).containsExactly(ra); // same id and seed: same stream
    assertThat(b.rank(scores)).isNotEqualTo(ra); // another id: another stream (8! orders)
  }

  @Test
  void oneLabelerPrefersTheBetterResponseWithTheBradleyTerryProbability() {
    // Gumbel noise of scale β makes P(i over j) = σ((s_i − s_j)/β): with a gap of 1 and β = 1,
    // 0.731.
    var labeler = new Labeler(3, 1.0, 11);
    int first = 0;
    int trials = 40_000;
    for (int t = 0; t < trials; t++) {
      if (labeler.rank(new double[] {1.0, 0.0})[0] == 0) {
        first++;
      }
    }
    assertThat((double) first / trials).isCloseTo(1 / (1 + Math.exp(-1)), within(0.01));
  }

  @Test
  void expectedAgreementFallsFromOneToOneHalfAsNoiseGrows() {
    var sets = fixedResponseSet(200).stream().filter(LabelerTest::untied).toList();
    assertThat(LabelerAgreement.expected(1e-6, sets)).isCloseTo(1.0, within(1e-9));
    assertThat(LabelerAgreement.expected(1e6, sets)).isCloseTo(0.5, within(1e-6));
    assertThat(LabelerAgreement.expected(0.5, sets))
        .isGreaterThan(LabelerAgreement.expected(1.0, sets));
  }

  @Test
  void calibrationReachesTheTargetAgreementWithinTwoPoints() {
    var sets = fixedResponseSet(500);
    var c = LabelerAgreement.calibrate(sets, LabelerAgreement.DEFAULT_TARGET, 2024, 20);
    assertThat(c.expectedAgreement()).isCloseTo(0.73, within(1e-6));
    assertThat(c.measured().pairs()).isEqualTo(500L * 6 * 20);
    assertThat(c.measured().rate()).isCloseTo(0.73, within(0.02));
    assertThat(c.beta()).isPositive();
    // And a measurement by two other labelers at that β, independent of the calibration's own.
    var again =
        LabelerAgreement.measure(
            new Labeler(10, c.beta(), 99), new Labeler(11, c.beta(), 99), sets);
    assertThat(again.rate()).isCloseTo(0.73, within(0.03));
  }

  @Test
  void calibrationRefusesATargetTheTiesMakeUnreachable() {
    var allTied = List.of(new double[] {3.5, 3.5, 3.5, 3.5}, new double[] {1.0, 1.0, 2.0, 2.0});
    // 8 of 12 pairs tied: the ceiling is 1 - 0.5 * 8/12 = 0.667.
    assertThatThrownBy(() -> LabelerAgreement.calibrate(allTied, 0.73, 1, 1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("0.667")
        .hasMessageContaining("8 of 12 pairs");
  }

  @Test
  void calibrationWithinReachAimsShortOfTheCeilingTheTiesLeave() {
    var manyTied = List.of(new double[] {3.5, 3.5, 3.5, 3.5}, new double[] {1.0, 1.0, 2.0, 2.0});
    // ceiling 0.667 (as above): aim at 0.5 + 0.9 * (0.667 - 0.5) = 0.65
    var c = LabelerAgreement.calibrateWithinReach(manyTied, 0.73, 1, 1);
    assertThat(c.ceiling()).isCloseTo(2.0 / 3, within(1e-9));
    assertThat(c.target()).isCloseTo(0.65, within(1e-9));
    assertThat(c.expectedAgreement()).isCloseTo(0.65, within(1e-6));

    var sets = fixedResponseSet(200);
    assertThat(LabelerAgreement.calibrateWithinReach(sets, 0.73, 1, 1).target())
        .as("a reachable target is kept")
        .isEqualTo(0.73);
  }

  @Test
  void aTargetExactlyAtTheCeilingIsOutOfReachAndAimedShortOf() {
    // 1 of 2 pairs tied: the ceiling is 1 - 0.5 * 1/2 = 0.75 exactly, which calibrate refuses
    // (it must lie below), so within reach aims at 0.5 + 0.9 * (0.75 - 0.5) = 0.725
    var halfTied = List.of(new double[] {1.0, 2.0}, new double[] {1.0, 1.0});
    var c = LabelerAgreement.calibrateWithinReach(halfTied, 0.75, 1, 1);
    assertThat(c.ceiling()).isEqualTo(0.75);
    assertThat(c.target()).isCloseTo(0.725, within(1e-9));
    assertThat(c.expectedAgreement()).isCloseTo(0.725, within(1e-6));
  }

  @Test
  void calibrationRefusesChanceAsATarget() {
    // 0.5 is what any β reaches only as β → ∞: no finite β to return
    assertThatThrownBy(() -> LabelerAgreement.calibrate(List.of(new double[] {1, 2}), 0.5, 1, 1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("target agreement 0.500 is out of reach");
  }

  @Test
  void aLabelRequestsTextEndedUnlessItFillsTheWholeBudget() {
    assertThat(Completion.ofLabelText("cba")).isEqualTo(new Completion("cba", true));
    var cut = "ab".repeat(Completion.MAX_NEW_TOKENS / 2);
    assertThat(Completion.ofLabelText(cut)).isEqualTo(new Completion(cut, false));
    var lastWithEos = cut.substring(1);
    assertThat(Completion.ofLabelText(lastWithEos).terminated()).isTrue();
  }

  private static boolean untied(double[] scores) {
    for (int i = 0; i < scores.length; i++) {
      for (int j = i + 1; j < scores.length; j++) {
        if (scores[i] == scores[j]) {
          return false;
        }
      }
    }
    return true;
  }
}
