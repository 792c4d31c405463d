package io.streamrlhf.infra.cli;

import io.streamrlhf.learner.config.RewardConfig;
import io.streamrlhf.learner.reward.RewardStage;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code rlhf reward}: the reward model from simulated labelers' rankings of SFT samples. */
@Command(
    name = "reward",
    mixinStandardHelpOptions = true,
    showDefaultValues = true,
    description = {
      "Trains a reward model initialised from the SFT model (InstructGPT step 2): samples K responses per"
          + " training prompt from the SFT model, has simulated labelers rank them (noise calibrated to"
          + " InstructGPT's 73%% agreement), and trains on all C(K,2) pairs of a prompt in one batch with the"
          + " Bradley-Terry loss averaged over pairs.",
      "The score is the scalar head at the last token, trained alone on the comparisons, plus w times the"
          + " response's log-likelihood under the SFT model (log pi_SFT(y|x), summed over its tokens), with w"
          + " fitted on the training comparisons after the head is trained (likelihood_term=false leaves the"
          + " head alone).",
      "Reports held-out pairwise accuracy before training, after it and of the head alone (overall and by"
          + " task family), beside two labelers' agreement on the same pairs, the score's correlation with response length, and stores the"
          + " mean and std of the RM's scores on SFT samples with the checkpoint (PPO normalises rewards with"
          + " them).",
      "Settings (keys of the effective config printed at start, e.g. responses_per_prompt, training_prompts,"
          + " learning_rate) come from --config and --set; the tiny-preset defaults take about three"
          + " minutes on 2 cores.",
      "The sampled and ranked sets are saved in --out (ranked-sets.json) before training, so --resume"
          + " continues a killed run on the same data from its last checkpoint."
    })
final class RewardCommand implements Callable<Integer> {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;
  @Mixin StageOptions stage;

  @Option(
      names = "--sft",
      required = true,
      paramLabel = "DIR",
      description = "SFT checkpoint directory (rlhf sft --out).")
  Path sft;

  @Override
  public Integer call() throws Exception {
    var config = stage.config(RewardConfig.defaults(), List.of());
    StageOptions.requireCheckpoint("--sft", sft, "sft");
    stage.input("--sft", sft); // its samples are ranked and its likelihood is in the score
    var out = spec.commandLine().getOut();
    try (var lock = stage.start(config, out);
        var notice = StopNotice.register("reward", stage.out, spec.commandLine().getErr())) {
      RewardStage.run(config, sft, stage.out, stage.resume, out);
    }
    return 0;
  }
}
