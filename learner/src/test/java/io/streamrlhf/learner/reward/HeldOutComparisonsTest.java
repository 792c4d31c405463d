package io.streamrlhf.learner.reward;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.types.DataType;
import io.streamrlhf.model.RewardFunction;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class HeldOutComparisonsTest {
  /** A reward "model" that prefers longer responses: the column of the last real token. */
  private static final RewardFunction LONGER_IS_BETTER =
      batch -> batch.lastTokenIndex().toType(DataType.FLOAT32, false).reshape(-1);

  private static RankedComparison ranked(
      String id,
      String request,
      String labeler,
      String prompt,
      List<String> responses,
      int... ranks) {
    var checked =
        RankedComparison.check(
            id, request, labeler, prompt, responses, IntStream.of(ranks).boxed().toList(), 256);
    assertThat(checked.unusable()).isNull();
    var c = checked.comparison();
    return c.withSftLogLikelihoods(new double[c.k()]);
  }

  @Test
  void theSplitIsAFixedShareByRequestWhateverTheOrder() {
    int held = 0;
    for (int i = 0; i < 20_000; i++) {
      boolean out = HeldOutComparisons.isHeldOut("request-" + i, 0.1);
      assertThat(HeldOutComparisons.isHeldOut("request-" + i, 0.1)).isEqualTo(out);
      if (out) held++;
    }
    // binomial(20000, 0.1): std 42
    assertThat(held).isBetween(1850, 2150);
    assertThat(HeldOutComparisons.isHeldOut("anything", 0)).isFalse();
    // every labeler's ranking of a request falls on its side: the group is the request
    var a = ranked("c1", "r9", "alice", "Sort dcba.\n", List.of("abcd", "abdc"), 0, 1);
    var b = ranked("c2", "r9", "bob", "Sort dcba.\n", List.of("abcd", "abdc"), 1, 0);
    assertThat(a.group()).isEqualTo(b.group()).isEqualTo("r9");
  }

  @Test
  void measuresTheModelAgainstTheLabelsBesideLabelerAgreementAndTheOracle() {
    var prompt = "Reverse abc.\n";
    var responses = List.of("cba", "cba :)", "Sure! cba", "xy");
    // the oracle: cba (correct) first; the three others are wrong, xy the furthest off
    var first = ranked("c1", "r1", "alice", prompt, responses, 0, 1, 2, 3);
    // bob ranks the same request, the answers listed in another order: he swaps "cba :)" and
    // "Sure! cba", agreeing with alice on 5 of her 6 pairs
    var second =
        ranked("c2", "r1", "bob", prompt, List.of("xy", "Sure! cba", "cba :)", "cba"), 3, 1, 2, 0);
    // a request ranked once, by a third labeler: no agreement pair, but oracle and model pairs
    var third = ranked("c3", "r2", "carol", "Uppercase ab.\n", List.of("AB", "AB :)"), 0, 1);
    var heldOut = new HeldOutComparisons(10, List.of(first, second, third));

    var figures = heldOut.evaluate(LONGER_IS_BETTER, 0);

    assertThat(figures.comparisons()).isEqualTo(3);
    assertThat(figures.pairs()).isEqualTo(6 + 6 + 1);
    assertThat(figures.labelerAgreement()).isCloseTo(5.0 / 6, within(1e-9));
    assertThat(figures.agreementPairs()).isEqualTo(6);
    // longer wins (lengths 3, 6, 9, 2): right on alice's pairs with xy (3 of 6), on bob's with xy
    // and his "Sure! cba" over "cba :)" (4 of 6), wrong on carol's one pair
    assertThat(figures.accuracy()).isCloseTo(7.0 / 13, within(1e-9));
    assertThat(figures.headAccuracy()).isEqualTo(figures.accuracy()); // w = 0: the head alone
    // its standard error over the 3 comparisons: residuals 3 − 6·7/13, 4 − 6·7/13, 0 − 7/13 are
    // −3/13, 10/13, −7/13; SE² = 3/2 · (158/169) / 13² = 237/28561
    assertThat(figures.headAccuracyStandardError()).isCloseTo(Math.sqrt(237) / 169, within(1e-9));
    // the oracle scores 3.5, 1.0, 0.83, 0.5: alice's order exactly, all but bob's swap, carol's
    assertThat(figures.oracleAccuracy()).isCloseTo(12.0 / 13, within(1e-9));
    // against the oracle's order the longer-is-better model gets 3 of 6 on each set, 0 of 1
    assertThat(figures.accuracyVsOracle()).isCloseTo(6.0 / 13, within(1e-9));
  }

  /**
   * The score is head + w·log π_SFT, and the head's standard error is the head's own: a likelihood
   * of −10 at w = 1 turns the head's right order of "cba" (3) over "xy" (2) into a wrong one.
   */
  @Test
  void theScoreAddsTheWeightedLikelihoodAndTheHeadsErrorIsTheHeads() {
    var prompt = "Reverse abc.\n";
    var unlikely =
        ranked("c1", "r1", "alice", prompt, List.of("cba", "xy"), 0, 1)
            .withSftLogLikelihoods(new double[] {-10, 0});
    var even = ranked("c2", "r2", "alice", prompt, List.of("cba", "xy"), 0, 1);
    var figures = new HeldOutComparisons(10, List.of(unlikely, even)).evaluate(LONGER_IS_BETTER, 1);
    assertThat(figures.accuracy()).isEqualTo(0.5);
    assertThat(figures.headAccuracy()).isEqualTo(1.0);
    assertThat(figures.headAccuracyStandardError()).isZero(); // right on both prompts
  }

  @Test
  void oneLabelerRankingARequestTwiceIsNoAgreementPair() {
    var prompt = "Reverse abc.\n";
    var once = ranked("c1", "r1", "alice", prompt, List.of("cba", "xy"), 0, 1);
    var again = ranked("c2", "r1", "alice", prompt, List.of("cba", "xy"), 1, 0);
    var figures = new HeldOutComparisons(10, List.of(once, again)).evaluate(LONGER_IS_BETTER, 0);
    assertThat(figures.agreementPairs()).isZero();
    assertThat(figures.labelerAgreement()).isNaN();
  }

  /**
   * Two labelers of one request who ranked different answer sets ("xy" against "zz", say after a
   * tool dropped one) share no pair to agree on: skipped, not looked up for a missing answer.
   */
  @Test
  void rankingsOfDifferentAnswerSetsAreNoAgreementPair() {
    var prompt = "Reverse abc.\n";
    var alice = ranked("c1", "r1", "alice", prompt, List.of("cba", "xy"), 0, 1);
    var bob = ranked("c2", "r1", "bob", prompt, List.of("cba", "zz"), 0, 1);
    var figures = new HeldOutComparisons(10, List.of(alice, bob)).evaluate(LONGER_IS_BETTER, 0);
    assertThat(figures.agreementPairs()).isZero();
    assertThat(figures.labelerAgreement()).isNaN();
    assertThat(figures.pairs()).isEqualTo(2); // each ranking's own pair is still measured

    // one set inside the other is another set too, whichever of the two rankings came first
    var three = ranked("c3", "r2", "carol", prompt, List.of("cba", "xy", "zz"), 0, 1, 2);
    var two = ranked("c4", "r2", "dave", prompt, List.of("cba", "xy"), 0, 1);
    for (var order : List.of(List.of(three, two), List.of(two, three))) {
      var subset = new HeldOutComparisons(10, order).evaluate(LONGER_IS_BETTER, 0);
      assertThat(subset.agreementPairs()).as("%s first", order.get(0).labelerId()).isZero();
    }
  }

  /** Two answers the oracle scores alike (0.5 each: as far off) are no pair of its order. */
  @Test
  void pairsTheOracleScoresAlikeAreLeftOutOfTheAccuracyAgainstItsOrder() {
    var set = ranked("c1", "r1", "alice", "Reverse abc.\n", List.of("cba", "xy", "pq"), 0, 1, 2);
    var figures = new HeldOutComparisons(10, List.of(set)).evaluate(LONGER_IS_BETTER, 0);
    // "cba" (3 long) over "xy" and over "pq" (2 each): both of the oracle's two pairs
    assertThat(figures.accuracyVsOracle()).isEqualTo(1.0);
  }

  @Test
  void keepsTheNewestWithinItsCapacity() {
    var heldOut = new HeldOutComparisons(2, List.of());
    for (int i = 0; i < 5; i++) {
      heldOut.add(ranked("c" + i, null, "l", "Sort ba.\n", List.of("ab", "ba"), 0, 1));
    }
    assertThat(heldOut.contents()).extracting(RankedComparison::id).containsExactly("c3", "c4");
    assertThat(new HeldOutComparisons(2, List.of()).evaluate(LONGER_IS_BETTER, 0).accuracy())
        .isNaN();
  }
}
