package io.streamrlhf.learner.config;

import static io.streamrlhf.learner.config.StageConfig.require;

/** The range checks of the AdamW settings every stage record carries. */
final class Optimizer {
  private Optimizer() {}

  static void check(
      double learningRate,
      double minLearningRate,
      int warmupSteps,
      double weightDecay,
      double adamBeta1,
      double adamBeta2,
      double gradClipNorm) {
    require(learningRate > 0, "learning_rate", "> 0", learningRate);
    require(minLearningRate >= 0 && minLearningRate <= learningRate, "min_learning_rate", "in [0, learning_rate]",
        minLearningRate);
    require(warmupSteps >= 0, "warmup_steps", ">= 0", warmupSteps);
    require(weightDecay >= 0, "weight_decay", ">= 0", weightDecay);
    require(adamBeta1 >= 0 && adamBeta1 < 1, "adam_beta1", "in [0, 1)", adamBeta1);
    require(adamBeta2 >= 0 && adamBeta2 < 1, "adam_beta2", "in [0, 1)", adamBeta2);
    require(gradClipNorm > 0, "grad_clip_norm", "> 0 (global L2 norm)", gradClipNorm);
  }
}
