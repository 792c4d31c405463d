package io.streamrlhf.learner.ppo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.streamrlhf.learner.config.PpoConfig;
import io.streamrlhf.model.checkpoint.Checkpoint;
import io.streamrlhf.model.checkpoint.Json;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The settings that make a PPO run the run it is, stored in its checkpoint: a resume that changes
 * one would reinterpret what the run already did, so it is refused.
 *
 * <ul>
 *   <li>{@code seed}: which prompts batch b holds and the seeds they are sampled with;
 *   <li>{@code prompts_per_batch}, {@code responses_per_prompt}: which prompt and sample a rollout
 *       id (batch, prompt, sample) names, so what the ledger of consumed rollouts and the prompt
 *       position mean;
 *   <li>{@code reward}: what the scores of the rollouts already sampled (on the topic, in flight)
 *       measure, and what the normalisation in the checkpoint was computed on;
 *   <li>{@code sampling_temperature}: what the behaviour log-probs of the rollouts in flight were
 *       sampled at, and what every policy version states to the actors, which refuse another (null
 *       in a checkpoint saved before it was stored: not compared).
 * </ul>
 *
 * Not in it, because a resume may change them without reinterpreting anything: {@code updates}
 * (extending a run continues the same prompt stream; the learning-rate schedule follows the new
 * length), {@code max_lag} (a rollout too stale under the new bound has its prompt asked again, not
 * lost), and the optimisation settings (learning rates, epochs, KL target), which a person may
 * deliberately adjust mid-run. The model's shape is in the checkpoint's own {@code model.json}, and
 * a resume with an SFT model of another shape is refused where the weights are loaded.
 */
public record RunIdentity(
    long seed,
    int promptsPerBatch,
    int responsesPerPrompt,
    String reward,
    Double samplingTemperature) {
  /** The train-state extras key. */
  static final String KEY = "identity";

  private static final String TEMPERATURE = "sampling_temperature";

  public static RunIdentity of(PpoConfig config) {
    return new RunIdentity(
        config.seed(),
        config.promptsPerBatch(),
        config.responsesPerPrompt(),
        config.reward(),
        config.samplingTemperature());
  }

  /**
   * The identity the PPO checkpoint in {@code dir} states; empty for a checkpoint of another stage
   * (or one saved before identities were stored).
   */
  public static Optional<RunIdentity> of(Path dir) throws IOException {
    var node = Checkpoint.extras(dir).get(KEY);
    return node == null ? Optional.empty() : Optional.of(read(node));
  }

  /** The identity a checkpoint's extras hold under {@link #KEY}. */
  static RunIdentity read(JsonNode node) throws IOException {
    // checkpoints saved before the temperature was stored hold none: it is not compared
    if (node.has(TEMPERATURE)) return Json.MAPPER.treeToValue(node, RunIdentity.class);
    var fields = ((ObjectNode) node.deepCopy()).put(TEMPERATURE, 1.0); // a stand-in, dropped below
    var read = Json.MAPPER.treeToValue(fields, RunIdentity.class);
    return new RunIdentity(
        read.seed, read.promptsPerBatch, read.responsesPerPrompt, read.reward, null);
  }

  /** Each setting {@code other} changes, as {@code key was → now}, in config-key spelling. */
  List<String> changesIn(RunIdentity other) {
    var changes = new ArrayList<String>();
    if (seed != other.seed) changes.add("seed " + seed + " -> " + other.seed);
    if (promptsPerBatch != other.promptsPerBatch)
      changes.add("prompts_per_batch " + promptsPerBatch + " -> " + other.promptsPerBatch);
    if (responsesPerPrompt != other.responsesPerPrompt)
      changes.add("responses_per_prompt " + responsesPerPrompt + " -> " + other.responsesPerPrompt);
    if (!reward.equals(other.reward)) changes.add("reward " + reward + " -> " + other.reward);
    if (samplingTemperature != null
        && other.samplingTemperature != null
        && !samplingTemperature.equals(other.samplingTemperature))
      changes.add(
          "sampling_temperature " + samplingTemperature + " -> " + other.samplingTemperature);
    return changes;
  }
}
