package io.streamrlhf.learner.stream;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamrlhf.model.checkpoint.Json;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The reward trainer's stream state in a checkpoint: one written before it recorded its run and
 * signing key still resumes (the two read as "none"), and one written now reads back as written.
 */
class RewardTrainerSourceStateTest {
  @Test
  void aCheckpointOfAnOlderBuildReadsWithNoRunAndNoKey() throws Exception {
    var older =
        Json.MAPPER.readTree(
            "{\"offsets\": {\"0\": 120}, \"applied_log_bytes\": 2400, \"applied_count\": 100}");
    var state = RewardTrainer.SourceState.read(older);
    assertThat(state.offsets()).isEqualTo(Map.of(0, 120L));
    assertThat(state.appliedCount()).isEqualTo(100);
    assertThat(state.run()).isEmpty();
    assertThat(state.signingKey()).isEmpty();
    var nulls =
        Json.MAPPER.readTree(
            "{\"offsets\": {}, \"applied_log_bytes\": 0, \"applied_count\": 0, \"run\": null,"
                + " \"signing_key\": null}");
    assertThat(RewardTrainer.SourceState.read(nulls).run()).isEmpty();
  }

  @Test
  void aCheckpointOfThisBuildReadsBackAsWritten() throws Exception {
    var state =
        new RewardTrainer.SourceState(Map.of(0, 7L, 2, 9L), 64, 3, "rt18c-1f", "ed25519:ab");
    assertThat(RewardTrainer.SourceState.read(Json.MAPPER.valueToTree(state))).isEqualTo(state);
  }
}
