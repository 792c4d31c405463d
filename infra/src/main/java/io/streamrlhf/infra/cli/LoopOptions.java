package io.streamrlhf.infra.cli;

import io.streamrlhf.learner.config.ConfigLoader;
import io.streamrlhf.learner.config.PpoConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
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

  @Option(names = "--config", paramLabel = "FILE", description = "PPO settings file (JSON, or YAML for .yaml/.yml).")
  Path config;

  @Option(names = "--set", paramLabel = "KEY=VALUE",
      description = "Override one PPO setting, e.g. --set max_lag=2 (repeatable; wins over --config).")
  List<String> overrides = new ArrayList<>();

  /** The effective PPO config; {@code sync} forces max_lag 0. */
  PpoConfig ppoConfig(boolean sync) {
    var all = new ArrayList<>(overrides);
    if (sync) all.add("max_lag=0");
    if (reward != null) all.add("reward=" + reward);
    return ConfigLoader.load(PpoConfig.defaults(), config, all);
  }
}
