package io.streamrlhf.model.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import io.streamrlhf.model.ComputeDevice;
import io.streamrlhf.model.Gpt;
import io.streamrlhf.model.GptConfig;
import io.streamrlhf.model.RewardModel;
import io.streamrlhf.model.WeightSnapshot;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * A stage's output directory, which is also its checkpoint:
 *
 * <pre>
 *   DIR/config.json          the effective stage config (the learner's ConfigLoader.save)
 *   DIR/latest.json          {"step": 300, "directory": "step-000300"}: the checkpoint in force
 *   DIR/step-000300/
 *       model.json           the GptConfig (shape) of the weights
 *       weights.bin          WeightSnapshot of the parameters (version = step)
 *       optimizer.bin        WeightSnapshot of AdamW's moments (version = updates taken)
 *       train-state.json     the trainer's {@link State} (the learner's TrainState: step, data
 *                            position, RNG, schedule step, extras)
 * </pre>
 *
 * Weights, optimizer state, schedule position, RNG and data position are saved together and
 * atomically: a step directory is written under a temporary name, fsynced, renamed into place, and
 * only then does {@code latest.json} (itself written by rename) point at it. A crash at any moment
 * leaves the previous checkpoint in force; older step directories are removed after the switch.
 * Anything that needs "the model of stage X" calls {@link #loadModel(Path)}, and a reward model
 * with the scoring its stage chose {@link #loadRewardModel(Path, Gpt)}: an actor loads its own
 * models from here, with no learner code.
 */
public final class Checkpoint {
  public static final String LATEST = "latest.json";
  public static final String MODEL_CONFIG = "model.json";
  public static final String WEIGHTS = "weights.bin";
  public static final String OPTIMIZER = "optimizer.bin";
  public static final String TRAIN_STATE = "train-state.json";

  private Checkpoint() {}

  /**
   * What a trainer saves beside weights and moments to resume (the learner's TrainState), stored as
   * JSON: the stage that wrote it, its step, and stage-specific extras under {@code extra} that
   * readers of the checkpoint may consult (e.g. {@link RewardStats}).
   */
  public interface State {
    String stage();

    long step();

    JsonNode extra();
  }

  /** The pointer file's content. */
  public record Latest(long step, String directory) {}

  /** What a checkpoint holds, read back. */
  public record Saved<S extends State>(
      GptConfig modelConfig, WeightSnapshot weights, WeightSnapshot optimizer, S state) {}

  /** Writes one checkpoint into {@code dir} and makes it the one in force. */
  public static void write(
      Path dir,
      GptConfig modelConfig,
      WeightSnapshot weights,
      WeightSnapshot optimizer,
      State state)
      throws IOException {
    Files.createDirectories(dir);
    var name = String.format("step-%06d", state.step());
    // a second checkpoint at the same step (final statistics after the last periodic checkpoint, a
    // trainer that took comparisons in without stepping) gets a directory of its own: the one in
    // force must not be deleted before latest.json points elsewhere
    if (exists(dir)
        && name.equals(
            Json.MAPPER.readValue(dir.resolve(LATEST).toFile(), Latest.class).directory())) {
      name += "-again";
    }
    var tmp = dir.resolve(name + ".tmp");
    var target = dir.resolve(name);
    deleteTree(tmp);
    Files.createDirectories(tmp);
    Json.writeSynced(
        tmp.resolve(MODEL_CONFIG), modelConfig.toJson().getBytes(StandardCharsets.UTF_8));
    Json.writeSynced(tmp.resolve(WEIGHTS), weights.encode());
    Json.writeSynced(tmp.resolve(OPTIMIZER), optimizer.encode());
    writeState(tmp, state);
    deleteTree(target); // a leftover of a run that crashed after this rename and before the switch
    Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
    Json.writeAtomically(new Latest(state.step(), name), dir.resolve(LATEST));
    try (Stream<Path> entries = Files.list(dir)) {
      for (var old :
          entries
              .filter(p -> p.getFileName().toString().startsWith("step-") && !p.equals(target))
              .toList()) {
        deleteTree(old);
      }
    }
  }

  /** Whether {@code dir} holds a checkpoint. */
  public static boolean exists(Path dir) {
    return Files.isRegularFile(dir.resolve(LATEST));
  }

  /** The checkpoint in force in {@code dir}, its train state read as {@code stateType}. */
  public static <S extends State> Saved<S> read(Path dir, String expectedStage, Class<S> stateType)
      throws IOException {
    var step = stepDirectory(dir);
    var modelConfig = GptConfig.fromJson(Files.readString(step.resolve(MODEL_CONFIG)));
    var weights = WeightSnapshot.decode(Files.readAllBytes(step.resolve(WEIGHTS)));
    var optimizer = WeightSnapshot.decode(Files.readAllBytes(step.resolve(OPTIMIZER)));
    return new Saved<>(modelConfig, weights, optimizer, readState(step, expectedStage, stateType));
  }

  /** The shape of the model saved in {@code dir}. */
  public static GptConfig modelConfig(Path dir) throws IOException {
    return GptConfig.fromJson(Files.readString(stepDirectory(dir).resolve(MODEL_CONFIG)));
  }

  /** The train state in force in {@code dir} as {@code stateType}, whatever stage wrote it. */
  public static <S> S trainState(Path dir, Class<S> stateType) throws IOException {
    return Json.MAPPER.readValue(stepDirectory(dir).resolve(TRAIN_STATE).toFile(), stateType);
  }

  /** The extras of the train state in force in {@code dir} (e.g. an RM's score statistics). */
  public static JsonNode extras(Path dir) throws IOException {
    return trainState(dir, JsonNode.class).path("extra");
  }

  /** Writes {@code dir/train-state.json} atomically. */
  public static void writeState(Path dir, State state) throws IOException {
    Json.writeAtomically(state, dir.resolve(TRAIN_STATE));
  }

  /** Reads {@code dir/train-state.json} and checks it was written by {@code expectedStage}. */
  public static <S extends State> S readState(Path dir, String expectedStage, Class<S> stateType)
      throws IOException {
    var file = dir.resolve(TRAIN_STATE);
    var state = Json.MAPPER.readValue(file.toFile(), stateType);
    if (!state.stage().equals(expectedStage)) {
      throw new IllegalArgumentException(
          file
              + " belongs to stage '"
              + state.stage()
              + "', not '"
              + expectedStage
              + "': resume from a "
              + expectedStage
              + " checkpoint");
    }
    return state;
  }

  /** A float32 CPU model with the weights saved in {@code dir}, ready to sample or score. */
  public static Gpt loadModel(Path dir) throws IOException {
    var step = stepDirectory(dir);
    var config = GptConfig.fromJson(Files.readString(step.resolve(MODEL_CONFIG)));
    var weights = WeightSnapshot.decode(Files.readAllBytes(step.resolve(WEIGHTS)));
    return Gpt.fromSnapshot(config, weights, ComputeDevice.CPU);
  }

  /**
   * The reward model in {@code dir}, scoring as its reward stage chose: with the stored weight of
   * the likelihood term, read from {@code sft} (the frozen SFT model the caller holds; may be null
   * only when the weight is 0).
   */
  public static RewardModel loadRewardModel(Path dir, Gpt sft) throws IOException {
    double weight = RewardStats.read(dir).likelihoodWeight();
    if (weight != 0 && sft == null) {
      throw new IllegalArgumentException(
          "the reward model in "
              + dir
              + " adds "
              + weight
              + " x the SFT log-likelihood to its head: give the SFT model (--sft) too");
    }
    return new RewardModel(loadModel(dir), sft, weight);
  }

  private static Path stepDirectory(Path dir) throws IOException {
    var latest = dir.resolve(LATEST);
    if (!Files.isRegularFile(latest)) {
      throw new IllegalArgumentException(
          dir
              + " holds no checkpoint (no "
              + LATEST
              + "): pass a directory written by"
              + " rlhf pretrain, sft, reward or ppo");
    }
    var pointer = Json.MAPPER.readValue(latest.toFile(), Latest.class);
    return dir.resolve(pointer.directory());
  }

  private static void deleteTree(Path path) throws IOException {
    if (!Files.exists(path)) return;
    try (Stream<Path> walk = Files.walk(path)) {
      for (var p : walk.sorted(Comparator.reverseOrder()).toList()) Files.delete(p);
    }
  }
}
