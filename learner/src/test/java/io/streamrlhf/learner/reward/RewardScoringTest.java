package io.streamrlhf.learner.reward;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.streamrlhf.learner.train.LearningRateSchedule;
import io.streamrlhf.learner.train.TrainingRun;
import io.streamrlhf.model.AdamW;
import io.streamrlhf.model.ByteTokenizer;
import io.streamrlhf.model.Gpt;
import io.streamrlhf.model.GptConfig;
import io.streamrlhf.model.RewardModel;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RewardScoringTest {
  @TempDir Path dir;

  private static final GptConfig SHAPE = new GptConfig(ByteTokenizer.VOCAB_SIZE, 16, 32, 2, 4);
  private static final int K = 4;

  /**
   * The synthetic preference: a response holding the byte 'z' beats one without; equal otherwise (a
   * tie).
   */
  private static List<RankedSet> sets(long seed, int n) {
    var rng = new SplittableRandom(seed);
    var out = new ArrayList<RankedSet>();
    for (int s = 0; s < n; s++) {
      var responses = new ArrayList<int[]>();
      var ranks = new int[K];
      for (int k = 0; k < K; k++) {
        var text = new StringBuilder();
        int length = 3 + rng.nextInt(4);
        for (int i = 0; i < length; i++) text.append("abcdz".charAt(rng.nextInt(5)));
        responses.add(ByteTokenizer.withEos(ByteTokenizer.encode(text.toString())));
        ranks[k] = text.indexOf("z") >= 0 ? 0 : 1;
      }
      out.add(new RankedSet(ByteTokenizer.encode("q\n"), responses, ranks));
    }
    return out;
  }

  @Test
  void learnsASyntheticPreferenceFromScratchAboveChanceOnHeldOutPairs() {
    var train = sets(1, 256);
    var heldOut = sets(2, 48);
    // the reward stage's loop: a TrainingRun minimising the Bradley-Terry loss of 16-set batches
    var options =
        new TrainingRun.Options(
            "reward",
            dir,
            new LearningRateSchedule(3e-3, 3e-3, 0, 48),
            new AdamW.Settings(0.9, 0.95, 0.0, 1.0),
            1,
            Integer.MAX_VALUE);
    try (var run = TrainingRun.start(options, Gpt.create(SHAPE, 3))) {
      var rm = RewardModel.headOnly(run.model());
      double before = RewardScoring.accuracy(rm, heldOut);
      TrainingRun.StepResult last = null;
      for (int epoch = 0; epoch < 3; epoch++) {
        for (int start = 0; start < train.size(); start += 16) {
          var batch = train.subList(start, start + 16);
          last = run.step(batch.size(), scope -> RewardScoring.loss(rm, scope, batch).loss());
        }
      }
      double after = RewardScoring.accuracy(rm, heldOut);
      System.out.printf(
          "RM synthetic preference: held-out accuracy %.3f -> %.3f, last loss %.3f%n",
          before, after, last.loss());
      assertThat(after).isGreaterThan(0.6).isGreaterThan(before + 0.1);
      assertThat(last.loss()).isLessThan(Math.log(2));
    }
  }

  @Test
  void identicalResponsesBecomeATieAndTheOtherwiseLabelerOrderIsKept() {
    int[] a = {1, 2};
    int[] b = {3};
    // labeler order best first: response 2, 0, 1, 3; responses 0 and 3 are identical copies of a
    var ranks = RankedSet.ranksOf(new int[] {2, 0, 1, 3}, List.of(a, b, new int[] {4}, a.clone()));
    assertThat(ranks).containsExactly(1, 2, 0, 1);
    assertThat(BradleyTerry.pairs(new int[][] {ranks})).hasSize(BradleyTerry.pairCount(4) - 1);
    // the later copy ranked best: both copies keep the first copy's rank, not the best one
    var later = RankedSet.ranksOf(new int[] {3, 1, 2, 0}, List.of(a, b, new int[] {4}, a.clone()));
    assertThat(later).containsExactly(3, 1, 2, 3);
  }

  @Test
  void aBatchOfMixedKIsTheMeanOverAllItsUntiedPairs() {
    var three = sets(3, 2).stream().map(set -> firstResponses(set, 3)).toList();
    var four = sets(4, 3);
    var batch = new ArrayList<RankedSet>(three);
    batch.addAll(four);
    try (var model = Gpt.create(SHAPE, 5)) {
      var rm = RewardModel.headOnly(model);
      var scores = RewardScoring.score(rm, batch);
      var ranks = RewardScoring.ranks(batch);
      double expected = BradleyTerry.loss(scores, ranks);
      double pooled =
          Gpt.withoutGradient(
              () -> {
                try (var scope = ai.djl.ndarray.NDManager.newBaseManager("PyTorch")) {
                  var loss = RewardScoring.pooledLoss(rm, scope, batch);
                  assertThat(loss.pairs()).isEqualTo(BradleyTerry.pairs(ranks).size());
                  assertThat(loss.accuracy())
                      .isCloseTo(BradleyTerry.accuracy(scores, ranks), within(1e-6));
                  return loss.loss().getFloat();
                }
              });
      assertThat(pooled).isCloseTo(expected, within(1e-5));
    }
  }

  private static RankedSet firstResponses(RankedSet set, int k) {
    return new RankedSet(
        set.prompt(), set.responses().subList(0, k), java.util.Arrays.copyOf(set.ranks(), k));
  }
}
