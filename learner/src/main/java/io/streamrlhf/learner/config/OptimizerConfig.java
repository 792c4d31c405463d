package io.streamrlhf.learner.config;

import static io.streamrlhf.learner.config.StageConfig.require;

import io.streamrlhf.learner.train.LearningRateSchedule;
import io.streamrlhf.model.AdamW;

/**
 * The AdamW settings every stage config nests under {@code optimizer}: the peak learning rate, its
 * warm-up and cosine floor, decoupled weight decay, Adam's betas and the global-norm clip. Written
 * once here so the four stages share the checks and the schedule.
 */
public record OptimizerConfig(
    double learningRate,
    double minLearningRate,
    int warmupSteps,
    double weightDecay,
    double adamBeta1,
    double adamBeta2,
    double gradClipNorm) {

  public OptimizerConfig {
    require(learningRate > 0, "learning_rate", "> 0", learningRate);
    require(
        minLearningRate >= 0 && minLearningRate <= learningRate,
        "min_learning_rate",
        "in [0, learning_rate]",
        minLearningRate);
    require(warmupSteps >= 0, "warmup_steps", ">= 0", warmupSteps);
    require(weightDecay >= 0, "weight_decay", ">= 0", weightDecay);
    require(adamBeta1 >= 0 && adamBeta1 < 1, "adam_beta1", "in [0, 1)", adamBeta1);
    require(adamBeta2 >= 0 && adamBeta2 < 1, "adam_beta2", "in [0, 1)", adamBeta2);
    require(gradClipNorm > 0, "grad_clip_norm", "> 0 (global L2 norm)", gradClipNorm);
  }

  /** Betas 0.9 and 0.95 (GPT-3, nanoGPT) and a clip norm of 1, with the stage's rates and decay. */
  public static OptimizerConfig of(
      double learningRate, double minLearningRate, int warmupSteps, double weightDecay) {
    return new OptimizerConfig(
        learningRate, minLearningRate, warmupSteps, weightDecay, 0.9, 0.95, 1.0);
  }

  /** What the optimizer itself takes: betas, decoupled weight decay and the clip norm. */
  public AdamW.Settings adam() {
    return new AdamW.Settings(adamBeta1, adamBeta2, weightDecay, gradClipNorm);
  }

  /** Warm-up then cosine decay over {@code totalSteps} optimizer steps. */
  public LearningRateSchedule schedule(long totalSteps) {
    return new LearningRateSchedule(
        learningRate, minLearningRate, warmupSteps, Math.max(totalSteps, warmupSteps));
  }
}
