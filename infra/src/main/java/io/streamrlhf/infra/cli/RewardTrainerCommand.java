package io.streamrlhf.infra.cli;

import io.streamrlhf.infra.exit.ExitHooks;
import io.streamrlhf.infra.kafka.TopicProvisioner;
import io.streamrlhf.learner.config.OnlineRewardConfig;
import io.streamrlhf.learner.stream.RewardTrainer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code rlhf reward-trainer}: the reward model keeps learning from the live comparisons. */
@Command(
    name = "reward-trainer",
    mixinStandardHelpOptions = true,
    showDefaultValues = true,
    description = {
      "Trains the reward model continuously on the rankings that arrive on rlhf.comparisons (from the"
          + " feedback gateway, labeling tools and simulated labelers): every step takes"
          + " comparisons_per_step fresh comparisons with replay_ratio times as many replayed earlier"
          + " ones, all C(K,2) pairs of each ranking in one batch (a trainer behind its labelers"
          + " takes every fresh one already waiting, up to catch_up_factor times as many, so it"
          + " catches up); a held_out_share of the label requests (by hash) is never trained on and"
          + " measures accuracy.",
      "Every publish_every_steps steps: refits w of score = head + w x log pi_SFT(y|x) on the replay"
          + " buffer, measures the score's mean and std on fixed SFT samples and the held-out"
          + " accuracy beside labeler agreement, checkpoints, and publishes the version on"
          + " rlhf.reward-weights with those statistics (actors score with it, PPO normalises with"
          + " them). Writes accuracy.csv (accuracy over time) into --out.",
      "--rm starts from an offline reward model; without it the run starts cold, from the SFT model with"
          + " its scalar head zeroed and w = 0.",
      "Runs until Ctrl-C/SIGTERM (it checkpoints and publishes what it learned first), --max-comparisons"
          + " or --until-version. The checkpoint holds the comparison offsets, the replay buffer and"
          + " the held-out set: started again with --resume on the same --out it applies every"
          + " comparison exactly once."
    })
final class RewardTrainerCommand implements Callable<Integer> {
  private static final Duration STOP_WAIT = Duration.ofSeconds(60);

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Mixin StageOptions stage;

  @Mixin KafkaClusterOptions cluster;

  @Mixin SigningKeyOption signingKey;

  @Option(
      names = "--sft",
      required = true,
      paramLabel = "DIR",
      description =
          "SFT checkpoint directory (rlhf sft --out): the cold start, the log pi_SFT(y|x) term and the"
              + " samples the score statistics are measured on.")
  Path sft;

  @Option(
      names = "--rm",
      paramLabel = "DIR",
      description =
          "Reward-model checkpoint to start from (rlhf reward --out, or another reward-trainer's);"
              + " without it, a cold start from --sft.")
  Path rm;

  @Option(
      names = "--max-comparisons",
      paramLabel = "N",
      description =
          "Stop once N comparisons were taken in, counted across restarts (tests, demos).")
  Long maxComparisons;

  @Option(
      names = "--until-version",
      paramLabel = "V",
      description = "Stop once reward-model version V (optimizer steps) or later is published.")
  Long untilVersion;

  @Override
  public Integer call() throws Exception {
    var kafka = cluster.access(); // the cheap checks first
    var signer = signingKey.signer(spec.commandLine().getOut());
    var config = stage.config(OnlineRewardConfig.defaults(), List.of());
    StageOptions.requireCheckpoint("--sft", sft, "sft");
    stage.input("--sft", sft); // its likelihood is in the score
    if (rm != null) {
      StageOptions.requireCheckpoint("--rm", rm, StageOptions.REWARD_MODELS);
      if (!stage.resume) stage.requireRewardModelOf(rm);
    }
    if (maxComparisons != null && maxComparisons < 1) {
      throw new UserError("--max-comparisons must be >= 1, got " + maxComparisons);
    }
    if (untilVersion != null && untilVersion < 0) {
      throw new UserError("--until-version must be >= 0, got " + untilVersion);
    }
    // w and the statistics a bootstrap starts from
    if (rm != null && !stage.resume) LoopOptions.requireRewardStatistics(rm);
    var out = spec.commandLine().getOut();
    if (stage.resume && rm != null) {
      out.printf(
          "rlhf reward-trainer: --rm is ignored on --resume: the run continues its checkpoint%n");
    }
    BrokerCheck.require(kafka);
    TopicProvisioner.provisionAllButPrompts(kafka, Duration.ofSeconds(60));
    // before --out holds a config and keys: a refused start leaves nothing behind
    if (!stage.resume) RewardTrainer.requireNoEarlierRun(kafka, stage.out, Duration.ofSeconds(60));
    try (var lock = stage.start(config, out, "reward trainer")) {
      var settings =
          RewardTrainer.Settings.of(kafka)
              .withSigner(signer)
              .withLimits(
                  maxComparisons != null ? maxComparisons : Long.MAX_VALUE,
                  untilVersion != null ? untilVersion : Long.MAX_VALUE);
      var trainer =
          new RewardTrainer(
              config, settings, sft, stage.resume ? null : rm, stage.out, stage.resume, out);
      var onTerm =
          new Thread(
              () -> {
                trainer.stop();
                try {
                  // its last checkpoint is written once it finished: then say where it goes on
                  if (trainer.awaitFinished(STOP_WAIT))
                    spec.commandLine()
                        .getErr()
                        .println(
                            "rlhf reward-trainer: stopped; "
                                + stage.out
                                + " holds its checkpoint: the same command with --resume"
                                + " continues from it");
                  spec.commandLine().getErr().flush();
                } catch (InterruptedException e) {
                  Thread.currentThread().interrupt();
                }
              },
              "rlhf-reward-trainer-shutdown");
      Runtime.getRuntime().addShutdownHook(onTerm);
      try {
        trainer.run();
        return 0;
      } finally {
        // false at SIGTERM: the hook is running and waits for the checkpoint run() just wrote
        ExitHooks.remove(onTerm);
      }
    }
  }
}
