package io.streamrlhf.model.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import io.streamrlhf.model.Gpt;
import io.streamrlhf.model.GptConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A step directory found intact is remembered by what its files look like (size, modification time,
 * inode), so a stage that reads its inputs several times hashes them once; any change of those is
 * hashed again, and so is a file too freshly written for its modification time to tell.
 */
class CheckpointVerificationTest {
  private static final GptConfig SHAPE = new GptConfig(260, 16, 8, 1, 2);

  record Step(String stage, long step, JsonNode extra) implements Checkpoint.State {}

  @Test
  void aSettledCheckpointIsHashedOnceAndAgainWhenAFileChanges(@TempDir Path dir) throws Exception {
    var weights = write(dir);
    var anHourAgo = FileTime.from(Instant.now().minus(1, ChronoUnit.HOURS));
    settle(dir, anHourAgo);
    assertThat(Checkpoint.inForce(dir).fallback()).isNull(); // hashed and found intact

    // a byte flipped behind the file's back, its size, time and inode kept: the stamp stands
    flipAByte(weights);
    Files.setLastModifiedTime(weights, anHourAgo);
    assertThat(Checkpoint.inForce(dir).fallback()).isNull();

    // the same change with its modification time moved, as any write moves it: hashed again
    Files.setLastModifiedTime(weights, FileTime.from(Instant.now().minus(1, ChronoUnit.MINUTES)));
    assertThatThrownBy(() -> Checkpoint.inForce(dir))
        .isInstanceOf(Checkpoint.CorruptCheckpointException.class)
        .hasMessageContaining("weights.bin fails its SHA-256");
  }

  @Test
  void aFreshlyWrittenCheckpointIsHashedOnEveryRead(@TempDir Path dir) throws Exception {
    var weights = write(dir);
    assertThat(Checkpoint.inForce(dir).fallback()).isNull();

    // within a clock tick a rewrite can leave the modification time as it was: not remembered
    var written = Files.getLastModifiedTime(weights);
    flipAByte(weights);
    Files.setLastModifiedTime(weights, written);
    assertThatThrownBy(() -> Checkpoint.inForce(dir))
        .isInstanceOf(Checkpoint.CorruptCheckpointException.class)
        .hasMessageContaining("weights.bin fails its SHA-256");
  }

  private static Path write(Path dir) throws Exception {
    try (var model = Gpt.create(SHAPE, 1)) {
      Checkpoint.write(
          dir,
          SHAPE,
          model.snapshot(1),
          model.snapshot(0),
          new Step("sft", 1, Json.MAPPER.createObjectNode()));
    }
    return Checkpoint.inForce(dir).directory().resolve(Checkpoint.WEIGHTS);
  }

  private static void settle(Path dir, FileTime time) throws Exception {
    try (Stream<Path> files = Files.walk(dir)) {
      for (var file : files.filter(Files::isRegularFile).toList()) {
        Files.setLastModifiedTime(file, time);
      }
    }
  }

  private static void flipAByte(Path file) throws Exception {
    var bytes = Files.readAllBytes(file);
    bytes[bytes.length / 2] ^= 1;
    Files.write(file, bytes);
  }
}
