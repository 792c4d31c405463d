package io.streamrlhf.learner.config;

import static io.streamrlhf.learner.config.StageConfig.require;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Supervised fine-tuning on demonstrations, loss on response tokens only.
 *
 * @param demonstrations the pool of labeler-written demonstrations (TASKS.md: the scarce resource);
 *     SFT walks it in a fresh shuffle every epoch, so {@code steps × demonstrations_per_batch /
 *     demonstrations} is the number of epochs
 */
public record SftConfig(
    long seed,
    int steps,
    int demonstrationsPerBatch,
    int demonstrations,
    OptimizerConfig optimizer,
    int logEverySteps,
    int checkpointEverySteps)
    implements StageConfig {

  public SftConfig {
    require(steps > 0, "steps", "> 0", steps);
    require(demonstrationsPerBatch > 0, "demonstrations_per_batch", "> 0", demonstrationsPerBatch);
    require(
        demonstrations >= demonstrationsPerBatch,
        "demonstrations",
        ">= demonstrations_per_batch (" + demonstrationsPerBatch + ")",
        demonstrations);
    require(optimizer != null, "optimizer", "given", optimizer);
    require(logEverySteps > 0, "log_every_steps", "> 0", logEverySteps);
    require(checkpointEverySteps > 0, "checkpoint_every_steps", "> 0", checkpointEverySteps);
  }

  public static SftConfig defaults() {
    // 750 steps of 64 over a pool of 3,000 demonstrations: 16 epochs, as InstructGPT trained; the
    // reward stage ranks 2.5 times as many distinct prompts (TASKS.md's data budgets)
    return new SftConfig(2, 750, 64, 3000, OptimizerConfig.of(3e-3, 3e-4, 25, 0.0), 25, 100);
  }

  /** Passes over the pool in the run. */
  public double epochs() {
    return (double) steps * demonstrationsPerBatch / demonstrations;
  }

  @Override
  public List<String> keptOnResume() {
    return List.of("seed", "demonstrations", "demonstrations_per_batch");
  }

  @Override
  public Optional<Length> length() {
    return Optional.of(new Length("steps", steps, steps));
  }

  @Override
  public String stageName() {
    return "sft";
  }

  @Override
  public Map<String, Object> derivedSizes() {
    var sizes = new LinkedHashMap<String, Object>();
    sizes.put("demonstration_pool", demonstrations);
    sizes.put("demonstrations_in_run", (long) steps * demonstrationsPerBatch);
    sizes.put("epochs", String.format(java.util.Locale.ROOT, "%.1f", epochs()));
    return sizes;
  }
}
