package io.streamrlhf.infra.cli;

import io.streamrlhf.model.Gpt2Weights;
import io.streamrlhf.model.checkpoint.Checkpoint;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code rlhf export-gpt2}: a policy checkpoint as GPT-2-format weights. */
@Command(
    name = "export-gpt2",
    mixinStandardHelpOptions = true,
    description = {
      "Writes a language model checkpoint (rlhf pretrain, sft or ppo --out) as GPT-2-format weights:"
          + " DIR/config.json and DIR/model.safetensors (float32), which Hugging Face transformers'"
          + " GPT2LMHeadModel loads and rlhf pretrain --gpt2 reads back.",
      "The vocabulary is this project's 260 tokens: token b < 256 is byte b of the UTF-8 text, 256"
          + " is end-of-sequence (eos_token_id); 257-259 are never emitted here (an output bias masks"
          + " them: mask them when sampling elsewhere). The GELU is the exact"
          + " one (activation_function gelu). PPO's value head is not GPT-2's and is left out; a"
          + " reward model, whose score is that head, is refused."
    })
final class ExportGpt2Command implements Callable<Integer> {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Option(
      names = "--model",
      required = true,
      paramLabel = "DIR",
      description = "A directory written by rlhf pretrain, sft or ppo.")
  Path model;

  @Option(
      names = "--out",
      required = true,
      paramLabel = "DIR",
      description = "Where config.json and model.safetensors go; must not hold them already.")
  Path out;

  @Override
  public Integer call() throws Exception {
    StageOptions.requireCheckpoint("--model", model, StageOptions.POLICIES);
    StageOptions.requireNotAFile("--out", out);
    for (var name : new String[] {Gpt2Weights.CONFIG, Gpt2Weights.WEIGHTS}) {
      if (Files.exists(out.resolve(name)))
        throw new UserError("--out " + out + " already holds " + name + ": choose another --out");
    }
    // a checkpoint's pruning would take it with its step directories
    TaskFiles.requireOutsideCheckpoints(out, out.toAbsolutePath().normalize());
    StageOptions.requireWritable(out);
    try (var gpt = Checkpoint.loadModel(model)) {
      Gpt2Weights.write(gpt, out);
      spec.commandLine()
          .getOut()
          .printf(
              "export-gpt2: %,d parameters (d_model %d, %d layers, %d heads, context %d) in %s%n",
              gpt.parameterCount() - gpt.config().dModel() - 1, // without the scalar head
              gpt.config().dModel(),
              gpt.config().layers(),
              gpt.config().heads(),
              gpt.config().contextLength(),
              out);
    }
    return 0;
  }
}
