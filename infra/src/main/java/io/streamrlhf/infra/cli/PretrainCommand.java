package io.streamrlhf.infra.cli;

import io.streamrlhf.learner.config.PretrainConfig;
import io.streamrlhf.learner.pretrain.Pretraining;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code rlhf pretrain}: the base model on the corpus. */
@Command(
    name = "pretrain",
    mixinStandardHelpOptions = true,
    showDefaultValues = true,
    description = {
      "Pretrains the base model on the corpus of docs/TASKS.md (documents as bytes + end-of-sequence):"
          + " next-token loss over windows of tokens_per_sequence tokens, AdamW, warm-up + cosine, global-norm clipping.",
      "Prints the derived sizes and the effective config, then progress (step, loss, tokens/s, ETA).",
      "Settings (--set key=value): shape, seed, steps, sequences_per_batch, tokens_per_sequence, learning_rate,"
          + " min_learning_rate, warmup_steps, weight_decay, adam_beta1, adam_beta2, grad_clip_norm,"
          + " log_every_steps, checkpoint_every_steps."
    })
final class PretrainCommand implements Callable<Integer> {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;
  @Mixin StageOptions stage;

  @Override
  public Integer call() throws Exception {
    var out = spec.commandLine().getOut();
    var config = stage.config(PretrainConfig.defaults(), List.of());
    stage.start(config, out);
    var result = Pretraining.run(config, stage.out, stage.resume, out);
    out.printf(
        Locale.ROOT,
        "pretrain: done, %,.0f tokens/s; base model in %s%n",
        result.tokensPerSecond(),
        stage.out);
    out.flush();
    return 0;
  }
}
