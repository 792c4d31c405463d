package io.streamrlhf.model.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.streamrlhf.model.Gpt;
import io.streamrlhf.model.GptConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a failed checkpoint write leaves: one the pointer already names stays in force (only making
 * the switch durable failed), anything else of it is removed and the one before it is named.
 */
class CheckpointNotWrittenTest {
  private static final GptConfig SHAPE = new GptConfig(260, 16, 8, 1, 2);

  record Step(String stage, long step, JsonNode extra) implements Checkpoint.State {}

  @Test
  void aFailureAfterThePointerNamesTheCheckpointKeepsIt(@TempDir Path dir) throws Exception {
    write(dir, 1);
    write(dir, 2); // the pointer names step-000002; what failed after that was its directory's sync
    var failed =
        Checkpoint.notWritten(
            dir, 2, "step-000002", "step-000001", new IOException("Input/output error"));
    assertThat(failed)
        .hasMessage(
            "the checkpoint of step 2 in "
                + dir
                + " is in force (step-000002), but making that durable failed: Input/output error;"
                + " a crash before the disk syncs may bring back the one before it");
    assertThat(dir.resolve("step-000002")).isDirectory();
    assertThat(Checkpoint.latest(dir).step()).isEqualTo(2);
    try (var kept = Checkpoint.loadModel(dir)) {
      assertThat(kept.config()).isEqualTo(SHAPE);
    }
  }

  @Test
  void aFailureBeforeThePointerRemovesWhatWasWrittenAndNamesTheOneInForce(@TempDir Path dir)
      throws Exception {
    write(dir, 1);
    var partial = Files.createDirectories(dir.resolve("step-000002.tmp"));
    Files.write(partial.resolve(Checkpoint.WEIGHTS), new byte[64]);
    var failed =
        Checkpoint.notWritten(
            dir, 2, "step-000002", "step-000001", new IOException("No space left on device"));
    assertThat(failed)
        .hasMessage(
            "cannot write the checkpoint of step 2 in "
                + dir
                + ": No space left on device; the one in force is still step-000001, which a"
                + " resume continues from");
    assertThat(partial).as("a full disk gets the partial checkpoint's space back").doesNotExist();
    assertThat(Checkpoint.latest(dir).step()).isEqualTo(1);
  }

  private static void write(Path dir, long step) throws Exception {
    try (var model = Gpt.create(SHAPE, 1)) {
      Checkpoint.write(
          dir,
          SHAPE,
          model.snapshot(step),
          List.of(model.snapshot(0)),
          new Step("sft", step, Json.MAPPER.createObjectNode()));
    }
  }
}
