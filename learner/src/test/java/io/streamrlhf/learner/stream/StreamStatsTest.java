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
