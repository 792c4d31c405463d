package io.streamrlhf.learner.stream;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamrlhf.model.checkpoint.Json;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

class StreamStatsTest {

  @Test
  void aRestartedLearnerCountsOnFromTheFiguresItsCheckpointHeld() throws Exception {
    var first = new StreamStats();
    for (long lag : new long[] {0, 0, 1, 2}) first.applied(lag);
    first.droppedStale();
    first.requestedAgain();
    first.duplicate();
    var saved = Json.MAPPER.valueToTree(first.saved(3));

    var second = StreamStats.resume(Json.MAPPER.treeToValue(saved, StreamStats.Saved.class));
    for (long lag : new long[] {1, 1, 1, 3}) second.applied(lag);
    second.duplicate();
    var summary = second.summary(2);

    assertThat(summary.rolloutsApplied()).isEqualTo(8);
    assertThat(summary.lagP50()).isEqualTo(1);
    assertThat(summary.lagMax()).isEqualTo(3);
    assertThat(summary.droppedStale()).isEqualTo(1);
    assertThat(summary.promptsRequestedAgain()).isEqualTo(1);
    assertThat(summary.duplicatesSkipped()).isEqualTo(2);
    assertThat(summary.deadLettered()).isEqualTo(5);
    assertThat(summary.resumes()).isEqualTo(1);
    assertThat(summary.seconds()).isGreaterThanOrEqualTo(saved.get("seconds").asDouble());
  }

  @Test
  void theLagP99IsTheLagBelowWhichNinetyNineInAHundredFallAndTheRateCountsSavedTime()
      throws Exception {
    var stats = new StreamStats();
    for (int i = 0; i < 98; i++) stats.applied(0);
    stats.applied(1);
    stats.applied(1);
    // 98 at lag 0, 2 at lag 1: the 99th of 100 (p99) is 1; the 95th (a p95) would be 0
    assertThat(stats.summary(0).lagP99()).isEqualTo(1);
    assertThat(stats.summary(0).lagP50()).isZero();

    // resumed from 200 rollouts over 100 s: about 2 rollouts/s, not 200 over this process's
    // few milliseconds
    var saved =
        (com.fasterxml.jackson.databind.node.ObjectNode) Json.MAPPER.valueToTree(stats.saved(0));
    saved.put("applied", 200);
    saved.put("seconds", 100.0);
    var resumed = StreamStats.resume(Json.MAPPER.treeToValue(saved, StreamStats.Saved.class));
    assertThat(resumed.summary(0).rolloutsPerSecond()).isBetween(1.9, 2.0);
  }

  @Test
  void weightSwapFiguresAreNullWhereNoSwapWasSeenAndMeasuredWhereSome() throws Exception {
    var stats = new StreamStats();
    stats.applied(0);

    // a learner whose actors run apart: its file says "not measured", not "0 ms over 0 swaps"
    var apart = Json.MAPPER.valueToTree(stats.summary(0));
    assertThat(apart.get("weight_swaps").isNull()).isTrue();
    assertThat(apart.get("publish_to_apply_ms_p50").isNull()).isTrue();
    assertThat(stats.summary(0).line()).doesNotContain("publish-to-apply");
    assertThat(stats.summary(0).withPublishToApply(new long[0]).publishToApplyMsMax()).isNull();

    var inProcess = stats.summary(0).withPublishToApply(new long[] {40, 10, 30});
    assertThat(inProcess.weightSwaps()).isEqualTo(3);
    assertThat(inProcess.publishToApplyMsP50()).isEqualTo(30);
    assertThat(inProcess.publishToApplyMsMax()).isEqualTo(40);
    assertThat(inProcess.line())
        .contains("publish-to-apply p50 30 ms, max 40 ms over 3 actor swaps");
  }

  @Test
  void tokenLagsCountOnAcrossARestartAndAnOlderCheckpointWithoutThemStillResumes()
      throws Exception {
    var first = new StreamStats();
    first.applied(1);
    first.appliedTokens(5, new long[] {5, 5, 5, 5, 4, 4}); // lags 0, 0, 0, 0, 1, 1
    var saved =
        (com.fasterxml.jackson.databind.node.ObjectNode) Json.MAPPER.valueToTree(first.saved(0));

    var second = StreamStats.resume(Json.MAPPER.treeToValue(saved, StreamStats.Saved.class));
    second.applied(3);
    second.appliedTokens(6, new long[] {3, 3}); // lags 3, 3
    // 0 0 0 0 1 1 3 3: the median is 0; this process's tokens alone would make it 3
    assertThat(second.summary(0).tokenLagP50()).isZero();
    assertThat(second.summary(0).tokenLagP99()).isEqualTo(3);

    // a checkpoint from before token lags were kept resumes, counting this process's tokens
    var state =
        (com.fasterxml.jackson.databind.node.ObjectNode)
            Json.MAPPER.valueToTree(
                new KafkaRollouts.State(
                    "run",
                    java.util.Map.of(),
                    Json.MAPPER.createObjectNode(),
                    0,
                    1,
                    java.util.Map.of(),
                    java.util.Map.of(),
                    java.util.Map.of(),
                    first.saved(0)));
    assertThat(
            ((com.fasterxml.jackson.databind.node.ObjectNode) state.get("stats"))
                .remove("token_lag_counts"))
        .isNotNull();
    var older = StreamStats.resume(KafkaRollouts.State.read(state).stats());
    older.appliedTokens(6, new long[] {3, 3});
    assertThat(older.summary(0).tokenLagP50()).isEqualTo(3);
  }

  @Test
  void histogramPercentilesAreTheNearestRankOfTheValues() {
    long[] lags = {0, 0, 1, 1, 1, 2, 2, 3, 4, 9};
    var counts = new TreeMap<Long, Long>();
    for (long lag : lags) counts.merge(lag, 1L, Long::sum);
    for (double q : new double[] {0.01, 0.5, 0.9, 0.99, 1.0})
      assertThat(StreamStats.percentile(counts, lags.length, q))
          .as("q=" + q)
          .isEqualTo(StreamStats.percentile(lags, q));
    assertThat(StreamStats.percentile(new TreeMap<>(), 0, 0.5)).isZero();
  }
}
