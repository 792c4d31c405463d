package io.streamrlhf.infra.cli;

import io.streamrlhf.learner.config.PpoConfig;
import io.streamrlhf.learner.ppo.PpoLoop;
import io.streamrlhf.learner.train.InputError;
import io.streamrlhf.model.checkpoint.OutputLock;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
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
   * @param trainsRewardHere whether this process runs the reward trainer of a live reward (which
   *     starts from --rm when given)
   */
  PpoConfig config(boolean throughKafka, boolean trainsRewardHere) {
    var flags = new ArrayList<>(models.flagOverrides());
    if (sync) flags.add(new ConfigOptions.FlagSetting("--sync", "max_lag=0"));
    var config = stage.config(PpoConfig.defaults(), flags);
    if (!throughKafka && PpoConfig.REWARD_LIVE.equals(config.reward())) {
      throw new UserError(
          "--reward live scores with the versions a reward trainer publishes on Kafka: run ppo"
              + " through Kafka (without --inproc)");
    }
    models.requireModels(config, trainsRewardHere);
    // the KL reference and the reward model: fixed for the whole run (a live reward is trained
    // by the run itself, and the oracle reads no --rm)
    stage.input("--sft", models.sft);
    if (PpoConfig.REWARD_MODEL.equals(config.reward())) {
      stage.input("--rm", models.rm);
      stage.requireRewardModelOf(models.rm);
    } else if (PpoConfig.REWARD_LIVE.equals(config.reward()) && models.rm != null) {
      stage.requireRewardModelOf(models.rm); // the live trainer's start
    }
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
      try {
        PpoLoop.checkResume(config, stage.out);
      } catch (InputError e) {
        throw new UserError("--resume: " + e.getMessage());
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read the checkpoint in " + stage.out, e);
      }
    }
    return config;
  }

  /**
   * Locks --out for this learner ({@link OutputLock}), then prints the effective config and saves
   * it there: the start of a run. The caller holds the lock until the run ends.
   *
   * @throws UserError when another learner holds --out
   */
  StageOptions.StartedRun start(PpoConfig config, PrintWriter log) {
    models.requireRewardStatistics(config);
    return stage.start(config, log, "learner");
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
