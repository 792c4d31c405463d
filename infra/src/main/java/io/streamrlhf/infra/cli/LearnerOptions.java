package io.streamrlhf.infra.cli;

import io.streamrlhf.learner.config.PpoConfig;
import io.streamrlhf.learner.ppo.PpoLoop;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * What {@code rlhf ppo} and {@code rlhf learner} share (a picocli mixin), since both run the PPO
 * learner: --out, --resume, --config and --set ({@link StageOptions}, with its --out/--resume
 * rule), the models ({@link LoopOptions}) and --sync.
 */
final class LearnerOptions {
  @Mixin StageOptions stage;

  @Mixin LoopOptions models;

  @Option(
      names = "--sync",
      description = "On-policy through Kafka: max_lag 0, actors wait for every new version.")
  boolean sync;

  /**
   * The effective PPO config, with --out, --resume and the models checked; writes nothing.
   *
   * @param throughKafka whether the streaming learner runs it (its checkpoints hold Kafka offsets)
   *     or the in-memory loop of {@code rlhf ppo --inproc}
   */
  PpoConfig config(boolean throughKafka) {
    var flags = new ArrayList<>(models.flagOverrides());
    if (sync) flags.add("max_lag=0");
    var config = stage.config(PpoConfig.defaults(), flags);
    models.requireModels(config);
    if (stage.resume) {
      boolean streamed = stage.savedState().extra().has(PpoLoop.SOURCE_STATE);
      if (throughKafka && !streamed) {
        throw new UserError(
            "--resume: "
                + stage.out
                + " holds a checkpoint of PPO in memory (rlhf ppo --inproc),"
                + " with no Kafka offsets to resume from: continue it with rlhf ppo --inproc, or choose another --out");
      }
      if (!throughKafka && streamed) {
        throw new UserError(
            "--resume: "
                + stage.out
                + " holds a checkpoint of PPO through Kafka: continue it"
                + " without --inproc, or choose another --out");
      }
    }
    return config;
  }

  /** Prints the effective config and saves it in --out: the start of a run. */
  void start(PpoConfig config, PrintWriter log) {
    stage.start(config, log);
  }

  /** The --preset named, or null. */
  String preset() {
    return stage.settings.preset;
  }

  Path out() {
    return stage.out;
  }

  boolean resume() {
    return stage.resume;
  }

  Path sft() {
    return models.sft;
  }

  Path rm() {
    return models.rm;
  }
}
