package io.streamrlhf.learner.train;

import io.streamrlhf.model.ComputeDevice;
import io.streamrlhf.model.Gpt;
import io.streamrlhf.model.GptConfig;
import io.streamrlhf.model.WeightSnapshot;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * A stage's output directory, which is also its checkpoint:
 *
 * <pre>
 *   DIR/config.json          the effective stage config (ConfigLoader.save)
 *   DIR/latest.json          {"step": 300, "directory": "step-000300"}: the checkpoint in force
 *   DIR/step-000300/
 *       model.json           the GptConfig (shape) of the weights
 *       weights.bin          WeightSnapshot of the parameters (version = step)
 *       optimizer.bin        WeightSnapshot of AdamW's moments (version = updates taken)
 *       train-state.json     TrainState: step, data position, RNG, schedule step, extras
 * </pre>
 *
 * Weights, optimizer state, schedule position, RNG and data position are saved together and
 * atomically: a step directory is written under a temporary name, fsynced, renamed into place,
 * and only then does {@code latest.json} (itself written by rename) point at it. A crash at any
 * moment leaves the previous checkpoint in force; older step directories are removed after the
 * switch. Anything that needs "the model of stage X" calls {@link #loadModel(Path)}.
 */
public final class Checkpoint {
  public static final String LATEST = "latest.json";
  public static final String MODEL_CONFIG = "model.json";
  public static final String WEIGHTS = "weights.bin";
  public static final String OPTIMIZER = "optimizer.bin";

  private Checkpoint() {}

  /** The pointer file's content. */
  public record Latest(long step, String directory) {}

  /** What a checkpoint holds, read back. */
  public record Saved(GptConfig modelConfig, WeightSnapshot weights, WeightSnapshot optimizer, TrainState state) {}

  /** Writes one checkpoint into {@code dir} and makes it the one in force. */
  public static void write(Path dir, GptConfig modelConfig, WeightSnapshot weights, WeightSnapshot optimizer,
      TrainState state) throws IOException {
    Files.createDirectories(dir);
    var name = String.format("step-%06d", state.step());
    var tmp = dir.resolve(name + ".tmp");
    var target = dir.resolve(name);
    deleteTree(tmp);
    Files.createDirectories(tmp);
    writeSynced(tmp.resolve(MODEL_CONFIG), modelConfig.toJson().getBytes(StandardCharsets.UTF_8));
    writeSynced(tmp.resolve(WEIGHTS), weights.encode());
    writeSynced(tmp.resolve(OPTIMIZER), optimizer.encode());
    state.write(tmp);
    deleteTree(target); // a leftover of a run that crashed after this rename and before the switch
    Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
    Json.writeAtomically(new Latest(state.step(), name), dir.resolve(LATEST));
    try (Stream<Path> entries = Files.list(dir)) {
      for (var old : entries.filter(p -> p.getFileName().toString().startsWith("step-") && !p.equals(target)).toList()) {
        deleteTree(old);
      }
    }
  }

  /** Whether {@code dir} holds a checkpoint. */
  public static boolean exists(Path dir) {
    return Files.isRegularFile(dir.resolve(LATEST));
  }

  /** The checkpoint in force in {@code dir}. */
  public static Saved read(Path dir, String expectedStage) throws IOException {
    var step = stepDirectory(dir);
    var modelConfig = GptConfig.fromJson(Files.readString(step.resolve(MODEL_CONFIG)));
    var weights = WeightSnapshot.decode(Files.readAllBytes(step.resolve(WEIGHTS)));
    var optimizer = WeightSnapshot.decode(Files.readAllBytes(step.resolve(OPTIMIZER)));
    return new Saved(modelConfig, weights, optimizer, TrainState.read(step, expectedStage));
  }

  /** The shape of the model saved in {@code dir}. */
  public static GptConfig modelConfig(Path dir) throws IOException {
    return GptConfig.fromJson(Files.readString(stepDirectory(dir).resolve(MODEL_CONFIG)));
  }

  /** The train state in force in {@code dir}, whatever stage wrote it (e.g. an RM's score statistics in extras). */
  public static TrainState trainState(Path dir) throws IOException {
    return Json.MAPPER.readValue(stepDirectory(dir).resolve(TrainState.FILE_NAME).toFile(), TrainState.class);
  }

  /** A float32 CPU model with the weights saved in {@code dir}, ready to sample or score. */
  public static Gpt loadModel(Path dir) throws IOException {
    var step = stepDirectory(dir);
    var config = GptConfig.fromJson(Files.readString(step.resolve(MODEL_CONFIG)));
    var weights = WeightSnapshot.decode(Files.readAllBytes(step.resolve(WEIGHTS)));
    return Gpt.fromSnapshot(config, weights, ComputeDevice.CPU);
  }

  private static Path stepDirectory(Path dir) throws IOException {
    var latest = dir.resolve(LATEST);
    if (!Files.isRegularFile(latest)) {
      throw new IllegalArgumentException(dir + " holds no checkpoint (no " + LATEST + "): pass a directory written by"
          + " rlhf pretrain, sft, reward or ppo");
    }
    var pointer = Json.MAPPER.readValue(latest.toFile(), Latest.class);
    return dir.resolve(pointer.directory());
  }

  private static void writeSynced(Path file, byte[] bytes) throws IOException {
    try (var channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.TRUNCATE_EXISTING)) {
      var buffer = ByteBuffer.wrap(bytes);
      while (buffer.hasRemaining()) channel.write(buffer);
      channel.force(true);
    }
  }

  private static void deleteTree(Path path) throws IOException {
    if (!Files.exists(path)) return;
    try (Stream<Path> walk = Files.walk(path)) {
      for (var p : walk.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
    }
  }
}
