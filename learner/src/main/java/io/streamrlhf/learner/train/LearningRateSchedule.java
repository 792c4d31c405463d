package io.streamrlhf.learner.train;

/**
 * Linear warm-up then cosine decay to a floor (Loshchilov &amp; Hutter 2017, SGDR without restarts;
 * the schedule of GPT-3 and nanoGPT). Step s counts optimizer steps from 0:
 *
 * <pre>
 *   s &lt; W:          lr = peak·(s+1)/W                    (so the first step is not wasted at 0)
 *   W ≤ s &lt; S:      lr = floor + ½·(1 + cos(π·(s−W)/(S−W)))·(peak − floor)
 *   s ≥ S:          lr = floor
 * </pre>
 *
 * A pure function of the step, so a resumed run gets the same rates from its saved step alone.
 */
public record LearningRateSchedule(double peak, double floor, long warmupSteps, long totalSteps) {
  public LearningRateSchedule {
    if (!(peak > 0))
      throw new IllegalArgumentException("peak learning rate must be > 0, got " + peak);
    if (!(floor >= 0 && floor <= peak)) {
      throw new IllegalArgumentException(
          "minimum learning rate must be in [0, " + peak + "], got " + floor);
    }
    if (warmupSteps < 0 || totalSteps < warmupSteps) {
      throw new IllegalArgumentException(
          "need 0 <= warm-up steps <= total steps, got " + warmupSteps + " and " + totalSteps);
    }
  }

  /** A flat rate: no warm-up, floor = peak. */
  public static LearningRateSchedule constant(double learningRate) {
    return new LearningRateSchedule(learningRate, learningRate, 0, 0);
  }

  /** The learning rate for optimizer step {@code step} (0-based). */
  public double at(long step) {
    if (step < 0) throw new IllegalArgumentException("step must be >= 0, got " + step);
    if (step < warmupSteps) return peak * (step + 1) / warmupSteps;
    if (step >= totalSteps) return floor;
    double progress = (double) (step - warmupSteps) / (totalSteps - warmupSteps);
    return floor + 0.5 * (1 + Math.cos(Math.PI * progress)) * (peak - floor);
  }
}
