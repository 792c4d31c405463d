package io.streamrlhf.learner.ppo;

import com.fasterxml.jackson.databind.JsonNode;
import io.streamrlhf.learner.train.TrainState;
import io.streamrlhf.model.WeightSnapshot;
import io.streamrlhf.model.checkpoint.Checkpoint;
import io.streamrlhf.tasks.SplitMix64;
import java.io.IOException;

/**
 * Where {@link PpoLoop}'s rollouts come from: sampled in process ({@link SampledRollouts}) or
 * consumed from Kafka (the streaming learner's source). The loop owns the policy, the update and
 * the checkpoint; a source owns its data position and says what it must save to resume.
 */
public interface RolloutSource extends AutoCloseable {
  /** The prefix of the loop's log lines: {@code ppo} in process, {@code learner} on Kafka. */
  String name();

  /**
   * Called once before the first update, with the checkpoint being resumed or null for a new run;
   * returns the line that says where the source starts.
   */
  String open(Checkpoint.Saved<TrainState> saved) throws IOException;

  /**
   * The rollouts of update {@code version + 1}, each sampled by a policy version at most {@code
   * version}.
   */
  RolloutBatch next(long version) throws IOException;

  /** The source's resume state as of now, saved in the checkpoint beside the learner's. */
  Position position();

  /**
   * The weights of a checkpoint just written (or resumed from): the streaming source publishes them
   * to the actors, only ever weights a checkpoint holds.
   */
  default void checkpointed(WeightSnapshot weights) throws IOException {}

  /**
   * True where every update must be checkpointed before its weights may be used (the Kafka loop).
   */
  default boolean checkpointsEveryUpdate() {
    return false;
  }

  @Override
  default void close() throws IOException {}

  /**
   * @param dataPosition prompts drawn (in process) or prompt batches published (Kafka)
   * @param rng the source's random stream, or the learner's where the source has none
   * @param state anything else the source needs, or null
   */
  record Position(long dataPosition, SplitMix64.RngState rng, JsonNode state) {}
}
