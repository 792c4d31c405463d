package io.streamrlhf.learner.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.streamrlhf.model.checkpoint.Checkpoint;
import io.streamrlhf.tasks.SplitMix64;
import java.io.IOException;
import java.nio.file.Path;

/**
 * Everything besides weights and optimizer moments that a stage needs to resume so that a run
 * killed at any step ends where an uninterrupted one would: how many optimizer steps were taken,
 * how far into its data the stage is, the exact random-number state, the schedule position, and
 * stage-specific extras (the KL controller's β, Kafka offsets, the RM's score statistics, ...).
 * Saved as {@code train-state.json} beside the weights, in the same checkpoint directory (the model
 * module's {@link Checkpoint}, which cannot name this record: its RNG state is the tasks module's
 * {@link SplitMix64}'s).
 *
 * @param stage which stage wrote it (pretrain, sft, reward, ppo), checked on resume
 * @param step optimizer steps completed
 * @param dataPosition the next example (or batch, as the stage defines) to read
 * @param rng the stage's {@link SplitMix64} state
 * @param scheduleStep the {@link LearningRateSchedule} step the next update uses
 * @param extra stage-specific state; an empty object when there is none
 */
public record TrainState(
    String stage,
    long step,
    long dataPosition,
    SplitMix64.RngState rng,
    long scheduleStep,
    JsonNode extra)
    implements Checkpoint.State {
  public static final String FILE_NAME = Checkpoint.TRAIN_STATE;

  public TrainState {
    if (stage == null || stage.isBlank())
      throw new IllegalArgumentException("train state needs a stage name");
    if (step < 0 || dataPosition < 0 || scheduleStep < 0) {
      throw new IllegalArgumentException("train state positions must be >= 0");
    }
    if (rng == null) throw new IllegalArgumentException("train state needs an rng state");
    extra = extra == null ? JsonNodeFactory.instance.objectNode() : extra.deepCopy();
  }

  /** The state before a stage's first step. */
  public static TrainState start(String stage, long seed) {
    return new TrainState(stage, 0, 0, new SplitMix64.RngState(seed, 0), 0, null);
  }

  /** The state after a step: the caller passes the new positions and its generator. */
  public TrainState advance(
      long step, long dataPosition, SplitMix64 rng, long scheduleStep, JsonNode extra) {
    return new TrainState(stage, step, dataPosition, rng.state(), scheduleStep, extra);
  }

  /** A mutable copy of the extras to fill before {@link #advance}. */
  public ObjectNode extraCopy() {
    return extra.isObject() ? (ObjectNode) extra.deepCopy() : JsonNodeFactory.instance.objectNode();
  }

  /** Writes {@code dir/train-state.json} atomically. */
  public void write(Path dir) throws IOException {
    Checkpoint.writeState(dir, this);
  }

  /** Reads {@code dir/train-state.json} and checks it was written by {@code expectedStage}. */
  public static TrainState read(Path dir, String expectedStage) throws IOException {
    return Checkpoint.readState(dir, expectedStage, TrainState.class);
  }
}
