package io.streamrlhf.infra.cli;

import io.streamrlhf.learner.config.PpoConfig;
import io.streamrlhf.learner.config.RewardConfig;
import io.streamrlhf.learner.train.Checkpoint;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * What the processes of the streaming loop share (a picocli mixin): the SFT and reward-model
 * checkpoints and the PPO settings, so that an actor samples as its learner expects (K,
 * temperature, batch size) from the same config file or {@code --set} flags.
 */
final class LoopOptions {
  @Option(names = "--sft", required = true, paramLabel = "DIR",
      description = "SFT checkpoint directory: the initial policy and the frozen reference model.")
  Path sft;

  @Option(names = "--rm", paramLabel = "DIR",
      description = "Reward-model checkpoint directory (rlhf reward --out); needed unless --reward oracle.")
  Path rm;

  @Option(names = "--reward", paramLabel = "SOURCE",
      description = "model (the reward model in --rm, the default) or oracle (the gold reward, no reward model);"
          + " the same as --set reward=SOURCE.")
  String reward;

  @Mixin ConfigOptions settings;

  /** The effective PPO config; {@code sync} forces max_lag 0. */
  PpoConfig ppoConfig(boolean sync) {
    var flags = new ArrayList<String>();
    if (sync) flags.add("max_lag=0");
    if (reward != null) flags.add("reward=" + reward);
    return settings.load(PpoConfig.defaults(), null, flags);
  }

  /** The checkpoints {@code config} reads, checked before a process loads them: the user's to fix when wrong. */
  void requireModels(PpoConfig config) {
    StageOptions.requireCheckpoint("--sft", sft, "sft");
    if (!PpoConfig.REWARD_MODEL.equals(config.reward())) return;
    if (rm == null) throw new UserError("PPO against the reward model needs --rm DIR (or --reward oracle)");
    StageOptions.requireCheckpoint("--rm", rm, "reward");
    String stage;
    try {
      stage = Checkpoint.trainState(rm).stage();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the train state of the checkpoint in " + rm, e);
    }
    var reward = RewardConfig.defaults().stageName();
    if (!stage.equals(reward)) {
      throw new UserError("--rm " + rm + " holds a " + stage + " checkpoint, not a reward model: give a directory"
          + " written by rlhf reward");
    }
  }
}
