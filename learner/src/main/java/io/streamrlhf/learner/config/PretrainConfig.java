package io.streamrlhf.learner.config;

import static io.streamrlhf.learner.config.StageConfig.require;

import io.streamrlhf.model.GptConfig;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Base language model on the corpus: next-token loss, AdamW, warm-up + cosine, global-norm clip.
 *
 * @param corpus a UTF-8 text file to pretrain on instead of the built-in synthetic corpus
 *     (documents separated by a line {@code <|endoftext|>}, as {@code rlhf tasks corpus} writes
 *     them; read in order, over and over); empty: the built-in corpus of the seed
 * @param corpusSha256 the SHA-256 (hex) of that file when the run began, so a resume can tell it
 *     was changed; empty when unknown
 * @param shape {@code tiny} or {@code small} from a random initialisation, or {@code gpt2}: the
 *     shape of the GPT-2-format weights in {@code gpt2Weights}, which the run starts from
 * @param gpt2Weights a Hugging Face GPT-2 directory (config.json, model.safetensors) to start from;
 *     empty: a random initialisation of {@code shape}
 * @param gpt2WeightsSha256 the SHA-256 (hex) of its model.safetensors when the run began
 */
public record PretrainConfig(
    String shape,
    long seed,
    int steps,
    int sequencesPerBatch,
    int tokensPerSequence,
    OptimizerConfig optimizer,
    int logEverySteps,
    int checkpointEverySteps,
    String corpus,
    String corpusSha256,
    String gpt2Weights,
    String gpt2WeightsSha256)
    implements StageConfig {

  /** The shape of a run that starts from GPT-2-format weights. */
  public static final String GPT2 = "gpt2";

  public PretrainConfig {
    require(steps > 0, "steps", "> 0", steps);
    require(sequencesPerBatch > 0, "sequences_per_batch", "> 0", sequencesPerBatch);
    require(tokensPerSequence > 1, "tokens_per_sequence", "> 1", tokensPerSequence);
    if (gpt2Weights == null) gpt2Weights = "";
    if (gpt2WeightsSha256 == null) gpt2WeightsSha256 = "";
    if (gpt2Weights.isEmpty()) {
      require(
          "tiny".equals(shape) || "small".equals(shape),
          "shape",
          "tiny or small (gpt2 comes with gpt2_weights)",
          shape);
      int context = GptConfig.preset(shape).contextLength();
      require(
          tokensPerSequence <= context,
          "tokens_per_sequence",
          "at most the " + shape + " model's context length " + context,
          tokensPerSequence);
    } else {
      // the weights' own context is checked against tokens_per_sequence when they are read
      require(GPT2.equals(shape), "shape", "gpt2 with gpt2_weights", shape);
    }
    require(optimizer != null, "optimizer", "given", optimizer);
    require(logEverySteps > 0, "log_every_steps", "> 0", logEverySteps);
    require(checkpointEverySteps > 0, "checkpoint_every_steps", "> 0", checkpointEverySteps);
    if (corpus == null) corpus = "";
    if (corpusSha256 == null) corpusSha256 = "";
  }

  /** On the built-in corpus. */
  public PretrainConfig(
      String shape,
      long seed,
      int steps,
      int sequencesPerBatch,
      int tokensPerSequence,
      OptimizerConfig optimizer,
      int logEverySteps,
      int checkpointEverySteps) {
    this(
        shape,
        seed,
        steps,
        sequencesPerBatch,
        tokensPerSequence,
        optimizer,
        logEverySteps,
        checkpointEverySteps,
        "",
        "",
        "",
        "");
  }

  public static PretrainConfig defaults() {
    // sized for the demo's budget: a few of its 15 minutes on 2 cores; the full preset runs longer
    return new PretrainConfig(
        "tiny", 1, 400, 32, 128, OptimizerConfig.of(3e-3, 3e-4, 40, 0.1), 25, 100);
  }

  @Override
  public List<String> keptOnResume() {
    return List.of(
        "shape",
        "seed",
        "sequences_per_batch",
        "tokens_per_sequence",
        "corpus",
        "corpus_sha256",
        "gpt2_weights",
        "gpt2_weights_sha256");
  }

  @Override
  public Optional<Length> length() {
    return Optional.of(new Length("steps", steps, steps));
  }

  @Override
  public String stageName() {
    return "pretrain";
  }

  @Override
  public Map<String, Object> derivedSizes() {
    var sizes = new LinkedHashMap<String, Object>();
    sizes.put("tokens_per_batch", (long) sequencesPerBatch * tokensPerSequence);
    sizes.put("tokens_in_run", (long) steps * sequencesPerBatch * tokensPerSequence);
    return sizes;
  }
}
