package io.streamrlhf.learner.reward;

import java.util.List;

/** Mean and population standard deviation of a sample, and Pearson's correlation of two. */
public record Moments(double mean, double std) {
  /** The std is floored at 1e-6 so that it can divide (PPO normalises by it). */
  public static Moments of(List<Double> xs) {
    double mean = xs.stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN);
    double squares = xs.stream().mapToDouble(x -> (x - mean) * (x - mean)).sum();
    return new Moments(mean, Math.max(Math.sqrt(squares / xs.size()), 1e-6));
  }

  /** Pearson's r of paired samples; 0 when either is constant. */
  public static double correlation(List<Double> xs, List<Double> ys) {
    var mx = of(xs).mean();
    var my = of(ys).mean();
    double sxy = 0;
    double sxx = 0;
    double syy = 0;
    for (int i = 0; i < xs.size(); i++) {
      double dx = xs.get(i) - mx;
      double dy = ys.get(i) - my;
      sxy += dx * dy;
      sxx += dx * dx;
      syy += dy * dy;
    }
    return sxx == 0 || syy == 0 ? 0 : sxy / Math.sqrt(sxx * syy);
  }
}
