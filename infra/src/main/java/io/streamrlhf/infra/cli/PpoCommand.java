package io.streamrlhf.infra.cli;

import io.streamrlhf.learner.config.ConfigLoader;
import io.streamrlhf.learner.config.PpoConfig;
import io.streamrlhf.learner.ppo.PpoStage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
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
          + " returns, PPO-ptx, adaptive KL controller.",
      "Every eval_every_updates updates it scores a fixed held-out subset with the oracle (gold) and the"
          + " RM (proxy) and writes gold-proxy.csv and gold-proxy.png to the output directory.",
      "Settings (keys of the effective config printed at start, e.g. updates, prompts_per_batch,"
          + " tokens_per_minibatch, target_kl, ptx_coef) come from --config and --set; the tiny-preset"
          + " defaults take about 3-4 minutes on 2 cores."
    })
final class PpoCommand implements Callable<Integer> {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Option(names = "--sft", required = true, paramLabel = "DIR",
      description = "SFT checkpoint directory: the initial policy and the frozen reference model.")
  Path sft;

  @Option(names = "--rm", required = true, paramLabel = "DIR", description = "Reward-model checkpoint directory (rlhf reward --out).")
  Path rm;

  @Option(names = "--out", defaultValue = "runs/ppo", paramLabel = "DIR",
      description = "Output directory: the policy checkpoint, config.json, gold-proxy.csv and gold-proxy.png.")
  Path out;

  @Option(names = "--config", paramLabel = "FILE", description = "Settings file (JSON, or YAML for .yaml/.yml).")
  Path config;

  @Option(names = "--set", paramLabel = "KEY=VALUE",
      description = "Override one setting, e.g. --set updates=40 (repeatable; wins over --config).")
  List<String> overrides = new ArrayList<>();

  @Override
  public Integer call() throws Exception {
    var effective = ConfigLoader.load(PpoConfig.defaults(), config, overrides);
    PpoStage.run(effective, sft, rm, out, spec.commandLine().getOut());
    return 0;
  }
}
