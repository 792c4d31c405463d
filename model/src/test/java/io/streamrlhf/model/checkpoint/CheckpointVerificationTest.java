package io.streamrlhf.model.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import com.fasterxml.jackson.databind.JsonNode;
import io.streamrlhf.model.Gpt;
import io.streamrlhf.model.GptConfig;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A step directory found intact is remembered by what its files look like (size, inode,
 * modification and status-change times), so a stage that reads its inputs several times hashes them
 * once; any write is hashed again, and so is a file too freshly written for its times to tell. A
 * checkpoint without a manifest has its snapshots' own checksums, checked as each is read.
 */
class CheckpointVerificationTest {
  private static final GptConfig SHAPE = new GptConfig(260, 16, 8, 1, 2);
  private static final int FILES = 4; // model.json, weights.bin, optimizer.bin, train-state.json

  record Step(String stage, long step, JsonNode extra) implements Checkpoint.State {}

  @AfterEach
  void realTime() {
    Checkpoint.clock(Clock.systemUTC());
  }

  @Test
  void aSettledCheckpointIsHashedOnceUntilAFileIsWritten(@TempDir Path dir) throws Exception {
    var weights = write(dir);
    Checkpoint.clock(Clock.fixed(Instant.now().plus(1, ChronoUnit.HOURS), ZoneOffset.UTC));

    long before = Checkpoint.filesHashed();
    assertThat(Checkpoint.inForce(dir).fallback()).isNull();
    assertThat(Checkpoint.inForce(dir).fallback()).isNull();
    assertThat(Checkpoint.weightsSha256(dir)).isNotEmpty();
    assertThat(Checkpoint.filesHashed() - before)
        .as("hashed on the first read only")
        .isEqualTo(FILES);

    // a same-size overwrite whose modification time is put back, as cp -p leaves it: its
    // status-change time moved, so it is hashed again and caught
    var written = Files.getLastModifiedTime(weights);
    flipAByte(weights);
    Files.setLastModifiedTime(weights, written);
    assertThatThrownBy(() -> Checkpoint.inForce(dir))
        .isInstanceOf(Checkpoint.CorruptCheckpointException.class)
        .hasMessageContaining("weights.bin fails its SHA-256");
  }

  @Test
  void aFreshlyWrittenCheckpointIsHashedOnEveryRead(@TempDir Path dir) throws Exception {
    // "now" a second after the write: within a clock tick a rewrite could leave every time as it
    // was, so the files are not yet remembered
    var weights = write(dir);
    var changed = (FileTime) Files.getAttribute(weights, "unix:ctime");
    Checkpoint.clock(Clock.fixed(changed.toInstant().plusSeconds(1), ZoneOffset.UTC));

    long before = Checkpoint.filesHashed();
    assertThat(Checkpoint.inForce(dir).fallback()).isNull();
    assertThat(Checkpoint.inForce(dir).fallback()).isNull();
    assertThat(Checkpoint.filesHashed() - before).isEqualTo(2 * FILES);
  }

  @Test
  void aFileReplacedByADirectoryIsNamedSo(@TempDir Path dir) throws Exception {
    var weights = write(dir);
    Files.delete(weights);
    Files.createDirectory(weights);
    assertThatThrownBy(() -> Checkpoint.inForce(dir))
        .isInstanceOf(Checkpoint.CorruptCheckpointException.class)
        .hasMessageContaining("weights.bin is not a file");
  }

  @Test
  void aFileThisUserMayNotReadIsNamedSoAndNotCalledCorrupt(@TempDir Path dir) throws Exception {
    var weights = write(dir);
    Files.setPosixFilePermissions(weights, java.util.Set.of());
    // the superuser reads any file: there is nothing to deny it
    Assumptions.assumeFalse(Files.isReadable(weights), "run as a user that file modes apply to");
    var denied = catchThrowable(() -> Checkpoint.inForce(dir));
    assertThat(denied)
        .isInstanceOf(AccessDeniedException.class)
        .isNotInstanceOf(Checkpoint.CorruptCheckpointException.class);
    assertThat(((AccessDeniedException) denied).getFile()).isEqualTo(weights.toString());

    // a run directory that may be searched but not listed is read as it is: files by name
    Files.setPosixFilePermissions(weights, PosixFilePermissions.fromString("rw-------"));
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("--x------"));
    try {
      assertThat(Checkpoint.inForce(dir).fallback()).isNull();
      // a step directory that may not be searched is named
      var step = weights.getParent();
      Files.setPosixFilePermissions(step, java.util.Set.of());
      assertThat(catchThrowable(() -> Checkpoint.inForce(dir)))
          .isInstanceOf(AccessDeniedException.class)
          .hasMessageStartingWith(step.toString());
      Files.setPosixFilePermissions(step, PosixFilePermissions.fromString("rwx------"));
    } finally {
      Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
    }
  }

  @Test
  void withoutAManifestEachSnapshotIsCheckedAsItIsRead(@TempDir Path dir) throws Exception {
    var weights = write(dir);
    var step = weights.getParent();
    Files.delete(step.resolve(Checkpoint.MANIFEST)); // as a checkpoint written before manifests
    var optimizer = step.resolve(Checkpoint.OPTIMIZER);
    flipAByte(optimizer);

    // the weights are intact; the optimizer state is read lazily, as a resume restores it
    var saved = Checkpoint.read(dir, "sft", Step.class);
    var lazily = catchThrowable(() -> saved.optimizer().iterator().next());
    assertThat(lazily).isInstanceOf(UncheckedIOException.class);
    assertThat(lazily.getCause())
        .isInstanceOf(Checkpoint.CorruptCheckpointException.class)
        .hasMessageStartingWith(optimizer + " fails its own check (weight snapshot v0 is corrupt");

    flipAByte(weights);
    assertThatThrownBy(() -> Checkpoint.loadModel(dir))
        .isInstanceOf(Checkpoint.CorruptCheckpointException.class)
        .hasMessageStartingWith(weights + " fails its own check (weight snapshot v1 is corrupt");
    Files.write(weights, new byte[0]);
    assertThatThrownBy(() -> Checkpoint.loadModel(dir))
        .isInstanceOf(Checkpoint.CorruptCheckpointException.class)
        .hasMessage(
            weights
                + " fails its own check (not a streamrlhf weight snapshot (0 bytes, less than its"
                + " header))");
    Files.delete(weights);
    Files.createDirectory(weights);
    assertThatThrownBy(() -> Checkpoint.loadModel(dir))
        .isInstanceOf(Checkpoint.CorruptCheckpointException.class)
        .hasMessage(weights + " is not a file");
    Files.delete(weights);
    assertThatThrownBy(() -> Checkpoint.loadModel(dir))
        .isInstanceOf(Checkpoint.CorruptCheckpointException.class)
        .hasMessage(weights + " is missing");
  }

  private static Path write(Path dir) throws Exception {
    try (var model = Gpt.create(SHAPE, 1)) {
      Checkpoint.write(
          dir,
          SHAPE,
          model.snapshot(1),
          List.of(model.snapshot(0)),
          new Step("sft", 1, Json.MAPPER.createObjectNode()));
    }
    return dir.resolve(Checkpoint.latest(dir).directory()).resolve(Checkpoint.WEIGHTS);
  }

  private static void flipAByte(Path file) throws Exception {
    var bytes = Files.readAllBytes(file);
    bytes[bytes.length / 2] ^= 1;
    Files.write(file, bytes);
  }
}
