package io.streamrlhf.infra.cli;

import io.streamrlhf.learner.config.SftConfig;
import io.streamrlhf.learner.sft.SupervisedFineTuning;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code rlhf sft}: supervised fine-tuning of the base model on demonstrations. */
@Command(
    name = "sft",
    mixinStandardHelpOptions = true,
    showDefaultValues = true,
    description = {
      "Fine-tunes a base model on demonstrations (prompt, labeler's answer, end-of-sequence) with the loss"
          + " on response tokens only (InstructGPT step 1). The demonstrations are a fixed, seeded pool"
          + " written by simulated labelers who slip (70%% the reference answer, 15%% wrapped in small talk,"
          + " 15%% a mistake; rlhf tasks demos writes them), trained for several epochs; never a held-out"
          + " prompt.",
      "Settings (--set key=value): seed, steps, demonstrations (the pool's size),"
          + " demonstrations_per_batch, learning_rate, min_learning_rate,"
          + " warmup_steps, weight_decay, adam_beta1, adam_beta2, grad_clip_norm, log_every_steps,"
          + " checkpoint_every_steps."
    })
final class SftCommand implements Callable<Integer> {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;
  @Mixin StageOptions stage;

  @Option(
      names = "--base",
      required = true,
      paramLabel = "DIR",
      description = "The base model: a directory written by rlhf pretrain.")
  Path base;

  @Override
  public Integer call() throws Exception {
    var config = stage.config(SftConfig.defaults(), List.of());
    StageOptions.requireCheckpoint("--base", base, "pretrain");
    stage.input("--base", base); // which base a run began from, read only at its start
    var out = spec.commandLine().getOut();
    SupervisedFineTuning.Result result;
    try (var lock = stage.start(config, out);
        var notice = StopNotice.register("sft", stage.out, spec.commandLine().getErr())) {
      result = SupervisedFineTuning.run(config, base, stage.out, stage.resume, out);
    }
    out.printf(
        Locale.ROOT,
        "sft: done, %s; SFT model in %s%n",
        StageOptions.rate(result.tokensPerSecond()),
        stage.out);
    StageOptions.sayIfLossRose(
        "sft",
        result.lossCurve(),
        SupervisedFineTuning.LossPoint::step,
        SupervisedFineTuning.LossPoint::loss,
        stage.out,
        out);
    out.flush();
    return 0;
  }
}
