package io.streamrlhf.schemas;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class RolloutRecordsTest {
  @Test
  void arraysSurviveARolloutRecordUnchanged() {
    int[] tokens = {83, 111, 0};
    float[] logProbs = {-0.25f, -1.5f, Float.NEGATIVE_INFINITY};
    var record =
        Rollout.newBuilder(Fixtures.rollout())
            .setResponseTokens(RolloutRecords.intList(tokens))
            .setRefLogProbs(RolloutRecords.floatList(logProbs))
            .build();

    var decoded = AvroCodec.of(Rollout.class).decode(AvroCodec.of(Rollout.class).encode(record));

    assertThat(RolloutRecords.ints(decoded.getResponseTokens())).containsExactly(tokens);
    assertThat(RolloutRecords.floats(decoded.getRefLogProbs())).containsExactly(logProbs);
  }
}
