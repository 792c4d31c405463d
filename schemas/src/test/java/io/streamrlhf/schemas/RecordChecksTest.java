package io.streamrlhf.schemas;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

class RecordChecksTest {

  private static Rollout rollout(Consumer<Rollout> change) {
    var r = Rollout.newBuilder(Fixtures.rollout()).build();
    change.accept(r);
    return r;
  }

  @Test
  void theFixturesOfEveryCheckedTypePass() {
    assertThat(RecordChecks.PROMPT.problem(Fixtures.prompt())).isEmpty();
    assertThat(RecordChecks.ROLLOUT.problem(Fixtures.rollout())).isEmpty();
    assertThat(RecordChecks.LABEL_REQUEST.problem(Fixtures.labelRequest())).isEmpty();
    assertThat(RecordChecks.COMPARISON.problem(Fixtures.comparison())).isEmpty();
  }

  @Test
  void aRolloutThatWouldBreakAnUpdateSaysWhy() {
    assertThat(RecordChecks.ROLLOUT.problem(rollout(r -> r.setResponseTokens(List.of()))))
        .hasValue("empty response");
    assertThat(RecordChecks.ROLLOUT.problem(rollout(r -> r.setPromptTokens(List.of()))))
        .hasValue("no prompt tokens");
    assertThat(
            RecordChecks.ROLLOUT.problem(rollout(r -> r.setBehaviourLogProbs(List.of(-1f, -2f)))))
        .hasValue("3 response tokens but 2 behaviour and 3 reference log-probs");
    assertThat(RecordChecks.ROLLOUT.problem(rollout(r -> r.setResponseTokens(List.of(97, -1, 0)))))
        .hasValue("response token -1 at 1");
    assertThat(
            RecordChecks.ROLLOUT.problem(
                rollout(r -> r.setBehaviourLogProbs(List.of(-1f, Float.NaN, -2f)))))
        .hasValue("behaviour log-prob NaN at 1 (must be finite and <= 0)");
    assertThat(
            RecordChecks.ROLLOUT.problem(
                rollout(r -> r.setRefLogProbs(List.of(Float.NEGATIVE_INFINITY, -1f, -2f)))))
        .hasValue("reference log-prob -Infinity at 0 (must be finite and <= 0)");
    assertThat(
            RecordChecks.ROLLOUT.problem(rollout(r -> r.setRefLogProbs(List.of(0.5f, -1f, -2f)))))
        .hasValue("reference log-prob 0.5 at 0 (must be finite and <= 0)");
    assertThat(RecordChecks.ROLLOUT.problem(rollout(r -> r.setRmScore(Float.POSITIVE_INFINITY))))
        .hasValue("rmScore Infinity");
    assertThat(RecordChecks.ROLLOUT.problem(rollout(r -> r.setRewardStd(0f))))
        .hasValue("rewardStd 0.0 (must be finite and > 0)");
    assertThat(RecordChecks.ROLLOUT.problem(rollout(r -> r.setRolloutId(""))))
        .hasValue("empty rolloutId");
    assertThat(RecordChecks.ROLLOUT.problem(rollout(r -> r.setPolicyVersion(-1))))
        .hasValue("policyVersion -1");
  }

  @Test
  void perTokenVersionsMustBeOnePerTokenFromTheOldestAndNeverGoBack() {
    assertThat(RecordChecks.ROLLOUT.problem(rollout(r -> r.setTokenVersions(List.of()))))
        .as("a record written before the field: every token by policyVersion")
        .isEmpty();
    assertThat(RecordChecks.ROLLOUT.problem(rollout(r -> r.setTokenVersions(List.of(12L, 13L)))))
        .hasValue("3 response tokens but 2 token versions");
    assertThat(
            RecordChecks.ROLLOUT.problem(rollout(r -> r.setTokenVersions(List.of(13L, 13L, 13L)))))
        .hasValue("token versions start at v13, not at policyVersion v12 (the oldest)");
    assertThat(
            RecordChecks.ROLLOUT.problem(rollout(r -> r.setTokenVersions(List.of(12L, 14L, 13L)))))
        .hasValue("token version v13 at 2 after v14");
  }

  @Test
  void tokenVersionsStartingBelowPolicyVersionAreRefused() {
    // policyVersion must be the first (oldest) token's version: a record claiming v12 whose first
    // token came from v11 understates its staleness; only a start above it was tested
    assertThat(
            RecordChecks.ROLLOUT.problem(rollout(r -> r.setTokenVersions(List.of(11L, 12L, 12L)))))
        .hasValue("token versions start at v11, not at policyVersion v12 (the oldest)");
  }

  @Test
  void aLogProbRoundedJustAboveZeroPasses() {
    assertThat(
            RecordChecks.ROLLOUT.problem(rollout(r -> r.setRefLogProbs(List.of(1e-6f, -1f, -2f)))))
        .isEmpty();
  }

  @Test
  void promptsLabelRequestsAndComparisonsSayWhatIsMissing() {
    var prompt = Prompt.newBuilder(Fixtures.prompt()).setPromptId("").build();
    assertThat(RecordChecks.PROMPT.problem(prompt)).hasValue("empty promptId");

    var request =
        LabelRequest.newBuilder(Fixtures.labelRequest()).setResponses(List.of("a")).build();
    assertThat(RecordChecks.LABEL_REQUEST.problem(request))
        .hasValue("1 responses (a ranking needs at least 2)");

    var ranks = Comparison.newBuilder(Fixtures.comparison()).setRanks(List.of(0, 1)).build();
    assertThat(RecordChecks.COMPARISON.problem(ranks)).hasValue("2 ranks for 3 responses");
    var negative = Comparison.newBuilder(Fixtures.comparison()).setRanks(List.of(0, -1, 1)).build();
    assertThat(RecordChecks.COMPARISON.problem(negative)).hasValue("negative rank -1");
  }

  @Test
  void idsTheReadersLogOnePerLineHoldNoLineBreakAndAreBounded() {
    // a reader writes each id it applied on a line of its own and counts the lines on resume
    var broken = Comparison.newBuilder(Fixtures.comparison()).setComparisonId("c-1\nc-2").build();
    assertThat(RecordChecks.COMPARISON.problem(broken))
        .hasValue("comparisonId with a control character or line break at 3");
    var separator = Rollout.newBuilder(Fixtures.rollout()).setRolloutId("r\u2028" + "x").build();
    assertThat(RecordChecks.ROLLOUT.problem(separator))
        .hasValue("rolloutId with a control character or line break at 1");
    var longest = "c".repeat(RecordChecks.MAX_ID_LENGTH);
    assertThat(
            RecordChecks.COMPARISON.problem(
                Comparison.newBuilder(Fixtures.comparison()).setComparisonId(longest).build()))
        .isEmpty();
    assertThat(
            RecordChecks.COMPARISON.problem(
                Comparison.newBuilder(Fixtures.comparison())
                    .setComparisonId(longest + "c")
                    .build()))
        .hasValue("comparisonId of 257 characters (at most 256)");
  }

  @Test
  void andRunsTheSecondCheckOnlyOnWhatTheFirstPasses() {
    RecordCheck<Prompt> alwaysLong = p -> java.util.Optional.of("too long");
    var both = RecordChecks.PROMPT.and(alwaysLong);

    assertThat(both.problem(Fixtures.prompt())).hasValue("too long");
    assertThat(both.problem(Prompt.newBuilder(Fixtures.prompt()).setText("").build()))
        .hasValue("empty text");
  }
}
