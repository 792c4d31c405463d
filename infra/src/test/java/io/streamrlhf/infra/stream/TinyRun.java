package io.streamrlhf.infra.stream;

import io.streamrlhf.actors.ActorNode;
import io.streamrlhf.actors.RolloutActor;
import io.streamrlhf.infra.chaos.TinyModels;
import io.streamrlhf.learner.config.ConfigLoader;
import io.streamrlhf.learner.config.PpoConfig;
import io.streamrlhf.learner.ppo.RewardSource;
import io.streamrlhf.learner.train.TrainState;
import io.streamrlhf.model.Gpt;
import io.streamrlhf.model.GptConfig;
import io.streamrlhf.model.checkpoint.Checkpoint;
import io.streamrlhf.tasks.SplitMix64;
import io.vertx.core.Vertx;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * Fixtures of the streaming tests: an SFT and a reward-model checkpoint of a very small model, and
 * a tiny PPO config.
 */
final class TinyRun {
  static final GptConfig SHAPE = TinyModels.SHAPE;

  private TinyRun() {}

  /**
   * Writes {@code dir/sft} and {@code dir/rm} (the chaos suite's tiny models); returns {@code dir}.
   */
  static Path checkpoints(Path dir) throws IOException {
    return TinyModels.write(dir);
  }

  /** Writes an SFT checkpoint of a fresh model of {@code shape} into {@code dir}; returns it. */
  static Path sft(Path dir, GptConfig shape) throws IOException {
    try (var sft = Gpt.create(shape, 1)) {
      Checkpoint.write(
          dir,
          shape,
          sft.snapshot(0),
          List.of(sft.snapshot(0)),
          new TrainState("sft", 0, 0, new SplitMix64(1).state(), 0, null));
    }
    return dir;
  }

  /**
   * A PPO config of {@code updates} updates of 2 prompts × 2 responses, staleness bound {@code
   * maxLag}, seed 7.
   */
  static PpoConfig config(int updates, int maxLag) {
    return TinyModels.config(updates, maxLag, 7);
  }

  /**
   * {@code rlhf <command>} (actor or learner) against {@code bootstrap} on the checkpoints in
   * {@code dir} and the config saved in {@code dir/settings}, then {@code more}: a child process's
   * arguments.
   */
  static List<String> loopArgs(String command, String bootstrap, Path dir, String... more) {
    var args = new ArrayList<>(List.of(command, "--bootstrap", bootstrap));
    args.addAll(modelArgs(dir));
    args.addAll(List.of(more));
    return args;
  }

  /** --sft, --rm and --config naming the checkpoints in {@code dir} and its saved settings. */
  static List<String> modelArgs(Path dir) {
    return List.of(
        "--sft",
        dir.resolve("sft").toString(),
        "--rm",
        dir.resolve("rm").toString(),
        "--config",
        dir.resolve("settings").resolve(ConfigLoader.FILE_NAME).toString());
  }

  /**
   * Deploys actor {@code actor-0} on {@code vertx} against {@code bootstrap}, with the checkpoints
   * in {@code dir} and the reward {@code config} names.
   */
  static ActorNode actor(
      Vertx vertx, String bootstrap, Path dir, PpoConfig config, Consumer<String> log) {
    return ActorNode.deploy(
        vertx,
        LocalLoop.settings("actor-0", bootstrap, config),
        RolloutActor.Models.load(
            dir.resolve("sft"), RewardSource.of(config.reward(), dir.resolve("rm"))::loadUnchecked),
        log);
  }

  /** A copy of a run's output directory, as another machine's disk would hold it. */
  static Path copy(Path from, Path to) throws IOException {
    try (var files = Files.walk(from)) {
      for (var file : files.toList()) {
        var target = to.resolve(from.relativize(file).toString());
        if (Files.isDirectory(file)) Files.createDirectories(target);
        else Files.copy(file, target, StandardCopyOption.COPY_ATTRIBUTES);
      }
    }
    return to;
  }
}
