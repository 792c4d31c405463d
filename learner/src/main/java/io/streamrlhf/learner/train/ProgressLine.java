package io.streamrlhf.learner.train;

import java.io.PrintWriter;
import java.util.Locale;

/**
 * The terminal progress of a training stage: every {@code everySteps} steps one line with the step,
 * the loss averaged since the last line, learning rate, gradient norm, throughput and the time left
 * at that throughput. Measures wall time, which is reported and never asserted on.
 */
public final class ProgressLine {
  private final PrintWriter out;
  private final String stage;
  private final long totalSteps;
  private final int everySteps;
  private long windowStart = System.nanoTime();
  private long windowTokens;
  private double windowLoss;
  private int windowSteps;
  private long allTokens;
  private long allNanos;

  public ProgressLine(PrintWriter out, String stage, long totalSteps, int everySteps) {
    this.out = out;
    this.stage = stage;
    this.totalSteps = totalSteps;
    this.everySteps = everySteps;
  }

  /**
   * Records a step that processed {@code tokens} tokens; prints on every {@code everySteps}-th step
   * and on the last.
   *
   * @return the loss averaged over the steps since the previous line, when one was printed, else
   *     NaN
   */
  public double record(TrainingRun.StepResult result, long tokens) {
    windowTokens += tokens;
    windowLoss += result.loss();
    windowSteps++;
    if (result.step() % everySteps != 0 && result.step() != totalSteps) return Double.NaN;
    long now = System.nanoTime();
    long nanos = now - windowStart;
    allTokens += windowTokens;
    allNanos += nanos;
    double tokensPerSecond = windowTokens / (nanos / 1e9);
    double secondsPerStep = nanos / 1e9 / windowSteps;
    double mean = windowLoss / windowSteps;
    out.println(
        String.format(
            Locale.ROOT,
            "%s step %d/%d  loss %.4f  lr %.2e  |g| %.3f  %,.0f tok/s  eta %s",
            stage,
            result.step(),
            totalSteps,
            mean,
            result.learningRate(),
            result.gradNorm(),
            tokensPerSecond,
            duration((long) (secondsPerStep * (totalSteps - result.step())))));
    out.flush();
    windowStart = now;
    windowTokens = 0;
    windowLoss = 0;
    windowSteps = 0;
    return mean;
  }

  /** Tokens per second over every step recorded so far. */
  public double meanTokensPerSecond() {
    return allNanos == 0 ? 0 : allTokens / (allNanos / 1e9);
  }

  static String duration(long seconds) {
    return seconds >= 60
        ? (seconds / 60) + "m" + String.format(Locale.ROOT, "%02d", seconds % 60) + "s"
        : seconds + "s";
  }
}
