package io.streamrlhf.learner.stream;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class RolloutLedgerTest {

  @Test
  void aConsumedRolloutIsRecognisedAfterACheckpointRoundTripAndFullBatchesFold() {
    var ledger = new RolloutLedger(2, 2); // 4 slots per batch
    var b0p1 = new PromptId("r1", 0, 1);
    ledger.markConsumed(b0p1, 1);
    ledger.markConsumed(new PromptId("r1", 2, 0), 0);

    var restored = RolloutLedger.fromJson(ledger.toJson(), 2, 2);

    assertThat(restored.consumed(b0p1, 1)).isTrue();
    assertThat(restored.consumed(b0p1, 0)).isFalse();
    assertThat(restored.consumed(new PromptId("r1", 2, 0), 0)).isTrue();
    assertThat(restored.allConsumedThrough(0)).isFalse();
    for (int p = 0; p < 2; p++) {
      for (int k = 0; k < 2; k++) restored.markConsumed(new PromptId("r1", 0, p), k);
    }
    assertThat(restored.allConsumedThrough(0)).isTrue();
    assertThat(restored.firstOpenBatch()).isEqualTo(1);
    assertThat(restored.toJson().get("partial").has("0"))
        .as("a full batch folds into the watermark")
        .isFalse();
    assertThat(restored.fits(new PromptId("r1", 3, 2), 0))
        .as("prompt index beyond the batch")
        .isFalse();
    assertThat(restored.fits(new PromptId("r1", 3, 1), 2)).as("sample index beyond K").isFalse();
    assertThat(restored.fits(new PromptId("r1", 3, 0), 2))
        .as("sample K of prompt 0 is no slot of prompt 0 (its slot number is prompt 1's first)")
        .isFalse();
  }

  @Test
  void promptIdsRoundTripAndForeignIdsDoNotParse() {
    var id = new PromptId("r1a2", 12, 3);
    assertThat(PromptId.parse(id.toString())).contains(id);
    assertThat(PromptId.parse("p-1")).isEmpty();
    assertThat(PromptId.parse("r:x:1")).isEmpty();
  }

  @Test
  void lagPercentilesAreNearestRank() {
    long[] lags = {0, 0, 1, 1, 1, 2, 2, 3, 4, 9};
    assertThat(StreamStats.percentile(lags, 0.5)).isEqualTo(1);
    assertThat(StreamStats.percentile(lags, 0.99)).isEqualTo(9);
    assertThat(StreamStats.percentile(new long[0], 0.5)).isZero();
  }
}
