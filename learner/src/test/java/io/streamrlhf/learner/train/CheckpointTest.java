package io.streamrlhf.learner.train;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamrlhf.model.Gpt;
import io.streamrlhf.model.GptConfig;
import io.streamrlhf.model.checkpoint.Checkpoint;
import io.streamrlhf.model.checkpoint.Checkpoint.Latest;
import io.streamrlhf.model.checkpoint.Json;
import io.streamrlhf.tasks.SplitMix64;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointTest {
  private static final GptConfig SHAPE = new GptConfig(260, 16, 8, 1, 2);

  @Test
  void crashLeftoversNeverReplaceTheCheckpointInForce(@TempDir Path dir) throws Exception {
    try (var model = Gpt.create(SHAPE, 1)) {
      var state = TrainState.start("pretrain", 7);
      Checkpoint.write(
          dir,
          SHAPE,
          model.snapshot(1),
          model.snapshot(0),
          state.advance(1, 10, new SplitMix64(7), 1, null));

      // A crash while writing step 2 leaves a half-written temporary directory, and a crash after
      // the rename but before latest.json switched leaves a whole step-3 directory: neither is in
      // force.
      Files.createDirectories(dir.resolve("step-000002.tmp"));
      Files.write(dir.resolve("step-000002.tmp").resolve(Checkpoint.WEIGHTS), new byte[] {1, 2, 3});
      Files.createDirectories(dir.resolve("step-000003"));
      assertThat(Checkpoint.read(dir, "pretrain", TrainState.class).state().step()).isEqualTo(1);
      assertThat(Checkpoint.read(dir, "pretrain", TrainState.class).state().dataPosition())
          .isEqualTo(10);

      // The next real write takes over and removes every other step directory.
      Checkpoint.write(
          dir,
          SHAPE,
          model.snapshot(4),
          model.snapshot(0),
          state.advance(4, 40, new SplitMix64(7), 4, null));
      assertThat(Checkpoint.read(dir, "pretrain", TrainState.class).state().step()).isEqualTo(4);
      assertThat(Checkpoint.read(dir, "pretrain", TrainState.class).weights().version())
          .isEqualTo(4);
      try (var entries = Files.list(dir)) {
        assertThat(entries.map(p -> p.getFileName().toString()))
            .containsExactlyInAnyOrder("latest.json", "step-000004");
      }
    }
  }

  @Test
  void aSecondCheckpointAtTheSameStepIsWrittenBesideTheOneInForceNotOverIt(@TempDir Path dir)
      throws Exception {
    try (var model = Gpt.create(SHAPE, 1)) {
      var state = TrainState.start("reward-trainer", 7);
      Checkpoint.write(
          dir,
          SHAPE,
          model.snapshot(3),
          model.snapshot(0),
          state.advance(3, 10, new SplitMix64(7), 3, null));
      var first = Json.MAPPER.readValue(dir.resolve(Checkpoint.LATEST).toFile(), Latest.class);
      Checkpoint.write(
          dir,
          SHAPE,
          model.snapshot(3),
          model.snapshot(0),
          state.advance(3, 20, new SplitMix64(7), 3, null));
      var second = Json.MAPPER.readValue(dir.resolve(Checkpoint.LATEST).toFile(), Latest.class);
      // rewriting step-000003 in place would delete the checkpoint in force before the switch
      assertThat(second.directory()).isNotEqualTo(first.directory());
      assertThat(Checkpoint.read(dir, "reward-trainer", TrainState.class).state().dataPosition())
          .isEqualTo(20);
      try (var entries = Files.list(dir)) {
        assertThat(entries.map(p -> p.getFileName().toString()))
            .containsExactlyInAnyOrder("latest.json", second.directory());
      }
    }
  }
}
