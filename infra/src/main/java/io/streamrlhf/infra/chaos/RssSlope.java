package io.streamrlhf.infra.chaos;

import java.util.List;

/**
 * The growth rate of a process's resident set: the least-squares slope of RSS over time, in MB per
 * hour. A leak shows as a steady positive slope; a heap that grows to its working size and stays
 * there gives a slope near 0 once the warm-up is left out.
 */
public final class RssSlope {
  /** One sample: seconds since the start, and the resident set in kB. */
  public record Sample(double seconds, long rssKb) {}

  private RssSlope() {}

  /** The least-squares slope in MB/hour (1 MB = 1000 kB); NaN with fewer than two samples. */
  public static double mbPerHour(List<Sample> samples) {
    int n = samples.size();
    if (n < 2) return Double.NaN;
    double meanT = 0, meanM = 0;
    for (var s : samples) {
      meanT += s.seconds() / 3600.0;
      meanM += s.rssKb() / 1000.0;
    }
    meanT /= n;
    meanM /= n;
    double covariance = 0, variance = 0;
    for (var s : samples) {
      double t = s.seconds() / 3600.0 - meanT;
      covariance += t * (s.rssKb() / 1000.0 - meanM);
      variance += t * t;
    }
    return variance == 0 ? Double.NaN : covariance / variance;
  }

  /**
   * The samples after the warm-up: the first fifth of the run, and at least the first minute when
   * the run is longer than two, are left out (class loading, JIT and the heap growing to its
   * working size are not a leak).
   */
  public static List<Sample> afterWarmUp(List<Sample> samples) {
    if (samples.isEmpty()) return samples;
    double warmUp = warmUpEnd(samples.get(samples.size() - 1).seconds());
    return samples.stream().filter(s -> s.seconds() >= warmUp).toList();
  }

  /** Where the warm-up of a run sampled until {@code lastSeconds} ends, in seconds. */
  public static double warmUpEnd(double lastSeconds) {
    return Math.max(lastSeconds / 5, lastSeconds > 120 ? 60 : 0);
  }
}
