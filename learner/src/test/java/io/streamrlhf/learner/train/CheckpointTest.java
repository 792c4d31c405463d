package io.streamrlhf.learner.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamrlhf.model.Gpt;
import io.streamrlhf.model.GptConfig;
import io.streamrlhf.model.WeightSnapshot;
import io.streamrlhf.model.checkpoint.Checkpoint;
import io.streamrlhf.tasks.SplitMix64;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.LongFunction;
import java.util.stream.Stream;
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
          List.of(model.snapshot(0)),
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

      // The next real write takes over and removes every step directory but the one it replaced.
      Checkpoint.write(
          dir,
          SHAPE,
          model.snapshot(4),
          List.of(model.snapshot(0)),
          state.advance(4, 40, new SplitMix64(7), 4, null));
      assertThat(Checkpoint.read(dir, "pretrain", TrainState.class).state().step()).isEqualTo(4);
      assertThat(Checkpoint.read(dir, "pretrain", TrainState.class).weights().version())
          .isEqualTo(4);
      try (var entries = Files.list(dir)) {
        assertThat(entries.map(p -> p.getFileName().toString()))
            .containsExactlyInAnyOrder("latest.json", "step-000004", "step-000001");
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
          List.of(model.snapshot(0)),
          state.advance(3, 10, new SplitMix64(7), 3, null));
      var first = Checkpoint.latest(dir);
      Checkpoint.write(
          dir,
          SHAPE,
          model.snapshot(3),
          List.of(model.snapshot(0)),
          state.advance(3, 20, new SplitMix64(7), 3, null));
      var second = Checkpoint.latest(dir);
      // rewriting step-000003 in place would delete the checkpoint in force before the switch
      assertThat(second.directory()).isNotEqualTo(first.directory());
      assertThat(Checkpoint.read(dir, "reward-trainer", TrainState.class).state().dataPosition())
          .isEqualTo(20);
      try (var entries = Files.list(dir)) {
        assertThat(entries.map(p -> p.getFileName().toString()))
            .containsExactlyInAnyOrder("latest.json", second.directory(), first.directory());
      }
    }
  }

  @Test
  void aCorruptNewestCheckpointFallsBackToThePreviousOneWithAWarning(@TempDir Path dir)
      throws Exception {
    // a flipped byte, a torn file, garbage: each newest checkpoint gives way to the previous one
    for (var damage :
        List.<Damage>of(CheckpointTest::flipAByte, CheckpointTest::tear, CheckpointTest::garble)) {
      var run = dir.resolve("run-" + damage.hashCode());
      try (var model = Gpt.create(SHAPE, 1)) {
        var state = TrainState.start("ppo", 7);
        for (int step = 1; step <= 2; step++) {
          Checkpoint.write(
              run,
              SHAPE,
              model.snapshot(step),
              List.of(model.snapshot(step)),
              state.advance(step, 10 * step, new SplitMix64(7), step, null));
        }
        damage.apply(run.resolve("step-000002"));

        var inForce = Checkpoint.inForce(run);
        assertThat(inForce.directory()).isEqualTo(run.resolve("step-000001"));
        assertThat(inForce.fallback())
            .contains("step-000002", "corrupt", "falling back", "step-000001");
        var saved = Checkpoint.read(run, "ppo", TrainState.class);
        assertThat(saved.state().step()).isEqualTo(1);
        assertThat(saved.state().dataPosition()).isEqualTo(10);
        assertThat(saved.weights().version()).isEqualTo(1);
        assertThat(Checkpoint.extras(run)).isEqualTo(saved.state().extra());

        // training on from the fallback keeps it, the intact one, as the previous checkpoint
        Checkpoint.write(
            run,
            SHAPE,
            model.snapshot(2),
            List.of(model.snapshot(2)),
            state.advance(2, 20, new SplitMix64(7), 2, null));
        var latest = Checkpoint.latest(run);
        assertThat(latest.previous()).isEqualTo("step-000001");
        assertThat(Checkpoint.inForce(run).fallback()).isNull();
        try (var entries = Files.list(run)) {
          assertThat(entries.map(p -> p.getFileName().toString()))
              .containsExactlyInAnyOrder("latest.json", latest.directory(), "step-000001");
        }
      }
    }
  }

  @Test
  void withNeitherCheckpointIntactReadingFailsNamingTheDamage(@TempDir Path dir) throws Exception {
    try (var model = Gpt.create(SHAPE, 1)) {
      checkpointSteps(dir, model, 2, step -> List.of(model.snapshot(step)));
      tear(dir.resolve("step-000002"));
      flipAByte(dir.resolve("step-000001"));
      assertThatThrownBy(() -> Checkpoint.read(dir, "ppo", TrainState.class))
          .isInstanceOf(Checkpoint.CorruptCheckpointException.class)
          .hasMessageContaining("step-000002")
          .hasMessageContaining("optimizer.bin holds")
          .hasMessageContaining("no intact previous checkpoint");
    }
  }

  @Test
  void aDamagedPointerGivesWayToTheNewestIntactStepDirectory(@TempDir Path dir) throws Exception {
    try (var model = Gpt.create(SHAPE, 1)) {
      checkpointSteps(dir, model, 2, step -> List.of(model.snapshot(step)));
      Files.writeString(dir.resolve(Checkpoint.LATEST), "{\"step\": 2, \"direc");
      assertThat(Checkpoint.read(dir, "ppo", TrainState.class).state().step()).isEqualTo(2);
      assertThat(Checkpoint.inForce(dir).fallback()).contains("does not parse", "step-000002");
    }
  }

  @Test
  void theOptimizerStateIsReadBackPartByPartAndAMissingPartFallsBack(@TempDir Path dir)
      throws Exception {
    try (var model = Gpt.create(SHAPE, 1);
        var other = Gpt.create(SHAPE, 2)) {
      checkpointSteps(dir, model, 2, step -> List.of(model.snapshot(step), other.snapshot(step)));
      // read part by part as a resume iterates them
      var parts = new ArrayList<WeightSnapshot>();
      Checkpoint.read(dir, "ppo", TrainState.class).optimizer().forEach(parts::add);
      assertThat(parts).hasSize(2);
      assertThat(parts.get(0).safetensors()).isEqualTo(model.snapshot(2).safetensors());
      assertThat(parts.get(1).safetensors()).isEqualTo(other.snapshot(2).safetensors());

      // the second part is in the manifest: a checkpoint without it is not read as one without
      Files.delete(dir.resolve("step-000002").resolve("optimizer-1.bin"));
      assertThat(Checkpoint.read(dir, "ppo", TrainState.class).state().step()).isEqualTo(1);
      assertThat(Checkpoint.inForce(dir).fallback()).contains("optimizer-1.bin cannot be read");
    }
  }

  @Test
  void theOptimizerPartsReadAreTheOnesTheManifestLists(@TempDir Path dir) throws Exception {
    // a checkpoint from before the split holds the whole state in optimizer.bin; a file its
    // manifest does not list is not read, as it was not verified
    try (var model = Gpt.create(SHAPE, 1)) {
      checkpointSteps(dir, model, 1, step -> List.of(model.snapshot(step)));
      var step = dir.resolve("step-000001");
      Files.copy(step.resolve(Checkpoint.OPTIMIZER), step.resolve("optimizer-1.bin"));
      assertThat(Checkpoint.read(dir, "ppo", TrainState.class).optimizer()).hasSize(1);
    }
  }

  @Test
  void aWriteThatFailsMidwayRemovesWhatItWroteAndNamesTheCheckpointInForce(@TempDir Path dir)
      throws Exception {
    try (var model = Gpt.create(SHAPE, 1)) {
      checkpointSteps(dir, model, 1, step -> List.of(model.snapshot(step)));
      // the second moments fail as a full disk fails them, after the weights and first moments
      Iterable<WeightSnapshot> failing =
          () ->
              Stream.<java.util.function.Supplier<WeightSnapshot>>of(
                      () -> model.snapshot(2),
                      () -> {
                        throw new UncheckedIOException(new IOException("No space left on device"));
                      })
                  .map(java.util.function.Supplier::get)
                  .iterator();
      var state = TrainState.start("ppo", 7).advance(2, 2, new SplitMix64(7), 2, null);
      assertThatThrownBy(() -> Checkpoint.write(dir, SHAPE, model.snapshot(2), failing, state))
          .isInstanceOf(IOException.class)
          .hasMessage(
              "cannot write the checkpoint of step 2 in "
                  + dir
                  + ": No space left on device; the one in force is still step-000001, which a"
                  + " resume continues from")
          .hasRootCauseMessage("No space left on device");
      try (var entries = Files.list(dir)) {
        assertThat(entries.map(p -> p.getFileName().toString()))
            .as("the partial step-000002.tmp is gone, its space given back")
            .containsExactlyInAnyOrder("latest.json", "step-000001");
      }
      assertThat(Checkpoint.read(dir, "ppo", TrainState.class).state().step()).isEqualTo(1);
      assertThat(Checkpoint.inForce(dir).fallback()).isNull();

      // into an empty directory: nothing was in force, and nothing is left half-written
      var fresh = dir.resolve("fresh");
      var first = TrainState.start("ppo", 7).advance(1, 1, new SplitMix64(7), 1, null);
      assertThatThrownBy(() -> Checkpoint.write(fresh, SHAPE, model.snapshot(1), failing, first))
          .hasMessageEndingWith(": No space left on device; no checkpoint was in force before it");
      try (var entries = Files.list(fresh)) {
        assertThat(entries).isEmpty();
      }
    }
  }

  /** Checkpoints steps 1..n of a PPO run in {@code dir}, with the optimizer state given. */
  private static void checkpointSteps(
      Path dir, Gpt model, int n, LongFunction<List<WeightSnapshot>> optimizer) throws Exception {
    var state = TrainState.start("ppo", 7);
    for (int step = 1; step <= n; step++) {
      Checkpoint.write(
          dir,
          SHAPE,
          model.snapshot(step),
          optimizer.apply(step),
          state.advance(step, step, new SplitMix64(7), step, null));
    }
  }

  private interface Damage {
    void apply(Path step) throws Exception;
  }

  private static void flipAByte(Path step) throws Exception {
    var file = step.resolve(Checkpoint.WEIGHTS);
    var bytes = Files.readAllBytes(file);
    bytes[bytes.length / 2] ^= 1;
    Files.write(file, bytes);
  }

  private static void tear(Path step) throws Exception {
    var file = step.resolve(Checkpoint.OPTIMIZER);
    var bytes = Files.readAllBytes(file);
    Files.write(file, java.util.Arrays.copyOf(bytes, bytes.length / 3));
  }

  private static void garble(Path step) throws Exception {
    Files.writeString(step.resolve(Checkpoint.TRAIN_STATE), "\u0000\u0000 not json");
  }
}
