package io.streamrlhf.learner.ppo;

import java.util.List;
import java.util.OptionalDouble;

/**
 * Time to equal gold reward: compares a synchronous and an asynchronous run of the same config by
 * the wall seconds each needs to reach the same oracle score on its {@link GoldProxyCurve}, not by
 * their final scores.
 *
 * <p>The target. Both runs start from the same SFT policy, evaluated on the same held-out prompts
 * with the same sampling seed, so their first rows agree; the start is the mean of the two. A run's
 * final level is the mean oracle score of its last {@value #LEVEL_POINTS} evaluations (one
 * evaluation is one sample per held-out prompt: a single row is noisy, a short run's tail averaged
 * is not much less so, but far more than its last row). The target is {@value #FRACTION} of the way
 * from the start to the lower of the two levels: a score both runs hold on average at their end,
 * below the plateau, where a run's noise decides less than it would at the plateau itself. When
 * only one run rises above the start, the target is taken from that one and the other is reported
 * as not reached; when neither does, neither reaches it.
 *
 * <p>The crossing. Each curve is smoothed by a centred moving average of three evaluations (two at
 * the end; the first row, the common start, is kept as measured), and the time to the target is
 * where the smoothed curve first reaches it, interpolated linearly in seconds between the two
 * evaluations around the crossing. The seconds are the curve's {@code seconds} column: wall time
 * since the learner's first update, evaluations included in both runs alike.
 */
public final class TimeToReward {
  /** How far from the start to the lower final level the target lies. */
  public static final double FRACTION = 0.8;

  /** Evaluations averaged into a run's final level. */
  public static final int LEVEL_POINTS = 3;

  private TimeToReward() {}

  /**
   * @param start the oracle score both runs start from
   * @param target the oracle score compared at
   * @param syncSeconds the synchronous run's wall seconds to the target; empty: not reached
   * @param asyncSeconds the asynchronous run's; empty: not reached
   */
  public record Result(
      double start, double target, OptionalDouble syncSeconds, OptionalDouble asyncSeconds) {

    /** Both runs reached the target. */
    public boolean reached() {
      return syncSeconds.isPresent() && asyncSeconds.isPresent();
    }

    /**
     * Sync seconds ÷ async seconds, the asynchronous run's speed-up (above 1: async reached the
     * target sooner); empty when a run did not reach it or the async run reached it at once.
     */
    public OptionalDouble syncOverAsync() {
      if (!reached() || asyncSeconds.getAsDouble() <= 0) return OptionalDouble.empty();
      return OptionalDouble.of(syncSeconds.getAsDouble() / asyncSeconds.getAsDouble());
    }

    /** One line for a log or a report. */
    public String describe() {
      var ratio = syncOverAsync();
      return String.format(
          "oracle score %.3f (start %.3f): sync %s, async %s, sync/async %s",
          target,
          start,
          seconds(syncSeconds),
          seconds(asyncSeconds),
          ratio.isPresent() ? String.format("%.2f", ratio.getAsDouble()) : "n/a");
    }

    private static String seconds(OptionalDouble s) {
      return s.isPresent() ? String.format("%.1f s", s.getAsDouble()) : "not reached";
    }
  }

  /**
   * The time each run takes to the target defined above.
   *
   * @throws IllegalArgumentException when a curve has fewer than two evaluations or rows without
   *     seconds (written before they were recorded)
   */
  public static Result compare(List<GoldProxyCurve.Point> sync, List<GoldProxyCurve.Point> async) {
    check(sync, "sync");
    check(async, "async");
    double start = (sync.get(0).oracleScore() + async.get(0).oracleScore()) / 2;
    double syncLevel = level(sync);
    double asyncLevel = level(async);
    double lower = Math.min(syncLevel, asyncLevel);
    double upper = Math.max(syncLevel, asyncLevel);
    if (upper <= start) {
      return new Result(start, start, OptionalDouble.empty(), OptionalDouble.empty());
    }
    double target = start + FRACTION * ((lower > start ? lower : upper) - start);
    return new Result(start, target, secondsToReach(sync, target), secondsToReach(async, target));
  }

  /**
   * The wall seconds at which {@code curve}, smoothed as described above, first reaches {@code
   * target}, interpolated between evaluations; empty when it never does.
   */
  public static OptionalDouble secondsToReach(List<GoldProxyCurve.Point> curve, double target) {
    check(curve, "curve");
    var smoothed = smoothed(curve);
    if (smoothed[0] >= target) return OptionalDouble.of(curve.get(0).seconds());
    for (int i = 1; i < smoothed.length; i++) {
      if (smoothed[i] >= target) {
        double t0 = curve.get(i - 1).seconds();
        double t1 = curve.get(i).seconds();
        double share = (target - smoothed[i - 1]) / (smoothed[i] - smoothed[i - 1]);
        return OptionalDouble.of(t0 + share * (t1 - t0));
      }
    }
    return OptionalDouble.empty();
  }

  /** The mean oracle score of the last {@value #LEVEL_POINTS} evaluations after the start. */
  static double level(List<GoldProxyCurve.Point> curve) {
    int n = Math.min(LEVEL_POINTS, curve.size() - 1);
    double sum = 0;
    for (int i = curve.size() - n; i < curve.size(); i++) sum += curve.get(i).oracleScore();
    return sum / n;
  }

  /** Centred three-point moving average, the first row kept, the last of two. */
  static double[] smoothed(List<GoldProxyCurve.Point> curve) {
    int n = curve.size();
    var smoothed = new double[n];
    smoothed[0] = curve.get(0).oracleScore();
    for (int i = 1; i < n; i++) {
      int last = Math.min(n - 1, i + 1);
      double sum = 0;
      for (int j = i - 1; j <= last; j++) sum += curve.get(j).oracleScore();
      smoothed[i] = sum / (last - i + 2);
    }
    return smoothed;
  }

  private static void check(List<GoldProxyCurve.Point> curve, String which) {
    if (curve.size() < 2) {
      throw new IllegalArgumentException(
          "the " + which + " curve has " + curve.size() + " evaluation(s); at least 2 are needed");
    }
    for (var point : curve) {
      if (!Double.isFinite(point.seconds())) {
        throw new IllegalArgumentException(
            "the "
                + which
                + " curve has no seconds at update "
                + point.update()
                + " (written before gold-proxy.csv recorded them)");
      }
    }
  }
}
