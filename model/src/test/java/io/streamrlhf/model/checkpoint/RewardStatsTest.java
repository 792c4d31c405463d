package io.streamrlhf.model.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

class RewardStatsTest {
  private static final RewardStats STATS =
      new RewardStats(
          -0.2, 1.7, 4, 500, 1998, 0.742, 0.746, 0.840, 0.207, 0.148, 0.737, 0.699, 0.015, -0.046);

  @Test
  void roundTripsThroughTheCheckpointExtras() throws Exception {
    var extra = STATS.into(Json.MAPPER.createObjectNode());
    assertThat(RewardStats.fromJson(extra.get(RewardStats.EXTRA_KEY))).isEqualTo(STATS);
  }

  @Test
  void aCheckpointWrittenBeforeTheHeadsStandardErrorReadsItAsNaN() throws Exception {
    var node = (ObjectNode) STATS.into(Json.MAPPER.createObjectNode()).get(RewardStats.EXTRA_KEY);
    node.remove(RewardStats.HEAD_ACCURACY_STANDARD_ERROR);

    var read = RewardStats.fromJson(node);

    assertThat(read.headAccuracyStandardError()).isNaN();
    assertThat(read.headAccuracy()).isEqualTo(0.699);
    assertThat(read.likelihoodWeight()).isEqualTo(0.148);
  }
}
