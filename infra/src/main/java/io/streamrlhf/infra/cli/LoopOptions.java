package io.streamrlhf.infra.cli;

import io.streamrlhf.learner.config.PpoConfig;
import io.streamrlhf.model.checkpoint.Checkpoint;
import io.streamrlhf.model.checkpoint.RewardStats;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.List;
import picocli.CommandLine.Option;

/**
 * The models every process of the PPO loop reads (a picocli mixin): the SFT checkpoint (initial
 * policy and frozen reference) and the reward, a reward model or the oracle. Learners take it
 * through {@link LearnerOptions}; an actor takes it beside {@link ConfigOptions}, so that it
 * samples and scores as its learner expects from the same flags and config file.
 */
final class LoopOptions {
  @Option(
      names = "--sft",
      required = true,
      paramLabel = "DIR",
      description = "SFT checkpoint directory: the initial policy and the frozen reference model.")
  Path sft;

  @Option(
      names = "--rm",
      paramLabel = "DIR",
      description =
          "Reward-model checkpoint directory (rlhf reward's or rlhf reward-trainer's --out);"
              + " needed with --reward model (the default). With --reward live it is read only by"
              + " rlhf ppo without --bootstrap or --inproc, whose reward trainer starts from it"
              + " (else cold from --sft).")
  Path rm;

  @Option(
      names = "--reward",
      paramLabel = "SOURCE",
      description =
          "model (the reward model in --rm, the default, and the versions a reward trainer of the"
              + " same SFT model publishes on rlhf.reward-weights while it runs); oracle: the gold reward of the task suite"
              + " itself, normalised by its scores of SFT samples, to check the RL machinery apart from the reward"
              + " model; or live: the newest version the reward trainer publishes on"
              + " rlhf.reward-weights as it learns from rankings (rlhf ppo without --bootstrap runs"
              + " the trainer, the labelers and the gateway itself, on its own broker: such a run"
              + " cannot be resumed, with --resume or --resume-if-present). The same as --set"
              + " reward=SOURCE.")
  String reward;

  /** The settings these flags stand for, applied after --config and --set. */
  List<ConfigOptions.FlagSetting> flagOverrides() {
    return reward == null
        ? List.of()
        : List.of(new ConfigOptions.FlagSetting("--reward", "reward=" + reward));
  }

  /**
   * The checkpoints {@code config} reads, checked before a process loads them: the user's to fix
   * when wrong. With a live reward, actors score only with what the reward trainer publishes, so
   * --rm is refused unless this process runs that trainer ({@code trainsRewardHere}), which starts
   * from it: never read silently past.
   */
  void requireModels(PpoConfig config, boolean trainsRewardHere) {
    boolean needsRm = PpoConfig.REWARD_MODEL.equals(config.reward());
    boolean live = PpoConfig.REWARD_LIVE.equals(config.reward());
    if (needsRm && rm == null)
      throw new UserError("PPO against the reward model needs --rm DIR (or --reward oracle)");
    if (live && rm != null && !trainsRewardHere) {
      throw new UserError(
          "--rm is not read with --reward live here: actors score with the versions the reward"
              + " trainer publishes (start the trainer from it: rlhf reward-trainer --rm)");
    }
    if (PpoConfig.REWARD_ORACLE.equals(config.reward()) && rm != null) {
      throw new UserError(
          "--rm is not read with --reward oracle: the oracle scores every rollout; drop --rm");
    }
    StageOptions.requireCheckpoint("--sft", sft, "sft");
    if (live && rm != null) {
      // as rlhf reward-trainer --rm: an offline reward model or another trainer's checkpoint
      StageOptions.requireCheckpoint("--rm", rm, StageOptions.REWARD_MODELS);
      requireRewardStatistics(rm); // w and the statistics the trainer starts from
      try {
        if (Checkpoint.modelConfig(rm).vocabSize() != Checkpoint.modelConfig(sft).vocabSize()) {
          throw new UserError("--rm " + rm + " and --sft " + sft + " differ in vocabulary");
        }
      } catch (IllegalArgumentException e) {
        throw new UserError("--rm: " + e.getMessage(), e);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read the reward model in " + rm, e);
      }
      return;
    }
    if (!needsRm) return;
    // a reward trainer's checkpoint holds the statistics a reward model's score needs too
    StageOptions.requireCheckpoint("--rm", rm, StageOptions.REWARD_MODELS);
  }

  /**
   * Refuses a reward model without the score statistics PPO normalises with: a reward run's
   * checkpoint from before its last step has none yet. Said in one line before the models load
   * (after the cheaper checks), not by the actors as they load it.
   */
  void requireRewardStatistics(PpoConfig config) {
    if (PpoConfig.REWARD_MODEL.equals(config.reward()) && rm != null) requireRewardStatistics(rm);
  }

  /** The statistics check of {@code --rm}, for every command that reads one. */
  static void requireRewardStatistics(Path rm) {
    try {
      RewardStats.read(rm);
    } catch (IllegalArgumentException e) {
      throw new UserError("--rm: " + e.getMessage(), e);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the reward model in " + rm, e);
    }
  }
}
