package io.streamrlhf.infra.stream;

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

/**
 * Fixtures of the streaming tests: an SFT and a reward-model checkpoint of a very small model, and
 * a tiny PPO config.
 */
final class TinyRun {
  static final GptConfig SHAPE = new GptConfig(ByteTokenizer.VOCAB_SIZE, 256, 16, 1, 2);

  private TinyRun() {}

  /** Writes {@code dir/sft} and {@code dir/rm}; returns {@code dir}. */
  static Path checkpoints(Path dir) throws IOException {
    try (var sft = Gpt.create(SHAPE, 1);
        var rm = Gpt.create(SHAPE, 2)) {
      Checkpoint.write(
          dir.resolve("sft"),
          SHAPE,
          sft.snapshot(0),
          sft.snapshot(0),
          new TrainState("sft", 0, 0, new SplitMix64(1).state(), 0, null));
      var stats = new RewardStats(0.0, 1.0, 2, 1, 1, 0.5, 0.5, 0.5, 1.0, 0.0, 0.5, 0.5, 0.0);
      Checkpoint.write(
          dir.resolve("rm"),
          SHAPE,
          rm.snapshot(0),
          rm.snapshot(0),
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

  /** Writes an SFT checkpoint of a fresh model of {@code shape} into {@code dir}; returns it. */
  static Path sft(Path dir, GptConfig shape) throws IOException {
    try (var sft = Gpt.create(shape, 1)) {
      Checkpoint.write(
          dir,
          shape,
          sft.snapshot(0),
          sft.snapshot(0),
          new TrainState("sft", 0, 0, new SplitMix64(1).state(), 0, null));
    }
    return dir;
  }

  /**
   * A PPO config of {@code updates} updates of 2 prompts × 2 responses, staleness bound {@code
   * maxLag}.
   */
  static PpoConfig config(int updates, int maxLag) {
    return ConfigLoader.with(
        PpoConfig.defaults(),
        "seed=7",
        "updates=" + updates,
        "prompts_per_batch=2",
        "responses_per_prompt=2",
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
