package io.streamrlhf.infra.chaos;

import io.streamrlhf.learner.config.ConfigLoader;
import io.streamrlhf.learner.config.PpoConfig;
import io.streamrlhf.learner.train.TrainState;
import io.streamrlhf.model.ByteTokenizer;
import io.streamrlhf.model.Gpt;
import io.streamrlhf.model.GptConfig;
import io.streamrlhf.model.checkpoint.Checkpoint;
import io.streamrlhf.model.checkpoint.Json;
import io.streamrlhf.model.checkpoint.RewardStats;
import io.streamrlhf.tasks.SplitMix64;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/**
 * What a chaos loop trains: an SFT and a reward-model checkpoint of a very small, untrained model
 * (written in a second; the faults, not the model, are under test), and a PPO config of a few quick
 * updates. The same shapes as the streaming tests' fixtures.
 */
public final class TinyModels {
  /** Context 256, width 16, one layer, two heads: an update takes well under a second. */
  public static final GptConfig SHAPE = new GptConfig(ByteTokenizer.VOCAB_SIZE, 256, 16, 1, 2);

  /** Prompts per batch and responses per prompt of every chaos run. */
  public static final int PROMPTS_PER_BATCH = 2;

  public static final int RESPONSES_PER_PROMPT = 2;

  private TinyModels() {}

  /** Writes {@code dir/sft} and {@code dir/rm} unless they exist; returns {@code dir}. */
  public static Path write(Path dir) throws IOException {
    return write(dir, SHAPE);
  }

  /**
   * Random SFT (seed 1) and reward-model (seed 2) checkpoints of {@code shape} in {@code dir/sft}
   * and {@code dir/rm}, unless they exist; returns {@code dir}.
   */
  public static Path write(Path dir, GptConfig shape) throws IOException {
    if (Checkpoint.exists(dir.resolve("sft")) && Checkpoint.exists(dir.resolve("rm"))) return dir;
    try (var sft = Gpt.create(shape, 1);
        var rm = Gpt.create(shape, 2)) {
      Checkpoint.write(
          dir.resolve("sft"),
          shape,
          sft.snapshot(0),
          List.of(sft.snapshot(0)),
          new TrainState("sft", 0, 0, new SplitMix64(1).state(), 0, null));
      var stats =
          new RewardStats(0.0, 1.0, 2, 1, 1, 0.5, 0.5, 0.5, 1.0, 0.0, 0.5, 0.5, Double.NaN, 0.0);
      Checkpoint.write(
          dir.resolve("rm"),
          shape,
          rm.snapshot(0),
          List.of(rm.snapshot(0)),
          new TrainState(
              "reward",
              0,
              0,
              new SplitMix64(2).state(),
              0,
              stats.into(Json.MAPPER.createObjectNode())));
    }
    return dir;
  }

  /**
   * {@code updates} updates of {@link #PROMPTS_PER_BATCH} prompts × {@link #RESPONSES_PER_PROMPT}
   * responses with staleness bound {@code maxLag}, seeded with {@code seed}; no evaluation to speak
   * of (one held-out prompt at the start and the end).
   */
  public static PpoConfig config(int updates, int maxLag, long seed) {
    return ConfigLoader.with(
        PpoConfig.defaults(),
        "seed=" + seed,
        "updates=" + updates,
        "prompts_per_batch=" + PROMPTS_PER_BATCH,
        "responses_per_prompt=" + RESPONSES_PER_PROMPT,
        "epochs_per_batch=1",
        "tokens_per_minibatch=512",
        "learning_rate=1e-3",
        "min_learning_rate=1e-3",
        "warmup_steps=0",
        "value_head_learning_rate=1e-3",
        "value_warmup_updates=0",
        "eval_every_updates=1000",
        "eval_prompts=1",
        "log_every_updates=1",
        "checkpoint_every_updates=1000",
        "max_lag=" + maxLag);
  }
}
