package io.streamrlhf.infra.cli;

import io.streamrlhf.learner.config.PpoConfig;
import io.streamrlhf.learner.ppo.PpoStage;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code rlhf ppo}: PPO against the reward model, actors and learner in one process. */
@Command(
    name = "ppo",
    mixinStandardHelpOptions = true,
    showDefaultValues = true,
    description = {
      "Fine-tunes the SFT model with PPO against the reward model (InstructGPT step 3), in one process:"
          + " per-token KL penalty to the frozen SFT model plus the normalised RM score on the last token,"
          + " GAE (gamma 1, lambda 0.95), whitened advantages, clipped surrogate, clipped value loss against"
          + " returns, adaptive KL controller; PPO-ptx with --set ptx_coef=G (off by default).",
      "Every eval_every_updates updates it scores a fixed held-out subset with the oracle (gold) and the"
          + " RM (proxy) and writes gold-proxy.csv and gold-proxy.png to the output directory.",
      "Settings (keys of the effective config printed at start, e.g. updates, prompts_per_batch,"
          + " tokens_per_minibatch, target_kl, ptx_coef) come from --config and --set; the tiny-preset"
          + " defaults take about 3-4 minutes on 2 cores.",
      "A checkpoint every checkpoint_every_updates holds the policy, optimizer, sampling and shuffling"
          + " streams, prompt position and KL coefficient: --resume continues a killed run exactly."
    })
final class PpoCommand implements Callable<Integer> {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;
  @Mixin StageOptions stage;

  @Option(names = "--sft", required = true, paramLabel = "DIR",
      description = "SFT checkpoint directory: the initial policy and the frozen reference model.")
  Path sft;

  @Option(names = "--rm", required = true, paramLabel = "DIR", description = "Reward-model checkpoint directory (rlhf reward --out).")
  Path rm;

  @Override
  public Integer call() throws Exception {
    var out = spec.commandLine().getOut();
    var config = stage.effectiveConfig(PpoConfig.defaults(), out);
    PpoStage.run(config, sft, rm, stage.out, stage.resume, out);
    return 0;
  }
}
