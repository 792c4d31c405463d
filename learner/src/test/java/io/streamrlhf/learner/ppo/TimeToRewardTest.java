package io.streamrlhf.learner.ppo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class TimeToRewardTest {
  private static final double[] RISING = {0, 0.25, 0.5, 0.75, 1.0};

  /** A curve of one evaluation every {@code every} seconds with these oracle scores. */
  private static List<GoldProxyCurve.Point> curve(double every, double... oracle) {
    var points = new ArrayList<GoldProxyCurve.Point>();
    for (int i = 0; i < oracle.length; i++)
      points.add(new GoldProxyCurve.Point(10L * i, oracle[i], 0, 0, every * i));
    return points;
  }

  @Test
  void theAsynchronousRunThatEvaluatesTwiceAsOftenPerSecondIsTwiceAsFast() {
    // levels: mean of 0.5, 0.75, 1 = 0.75 for both; target 0.8 * 0.75 = 0.6; smoothed
    // [0, 0.25, 0.5, 0.75, 0.875] crosses 0.6 two fifths of the way from row 2 to row 3
    var result = TimeToReward.compare(curve(10, RISING), curve(5, RISING));
    assertThat(result.start()).isZero();
    assertThat(result.target()).isCloseTo(0.6, within(1e-12));
    assertThat(result.syncSeconds().getAsDouble()).isCloseTo(24, within(1e-9));
    assertThat(result.asyncSeconds().getAsDouble()).isCloseTo(12, within(1e-9));
    assertThat(result.reached()).isTrue();
    assertThat(result.syncOverAsync().getAsDouble()).isCloseTo(2, within(1e-9));
    assertThat(result.describe()).contains("sync 24.0 s", "async 12.0 s", "sync/async 2.00");
  }

  @Test
  void aSpikeOfOneEvaluationDoesNotCountAsReachingTheTarget() {
    // level (0.3 + 0.6 + 0.9) / 3 = 0.6, target 0.48; smoothed [0, 0.3, 0.4, 0.3, 0.6, 0.75]:
    // the raw curve passes 0.48 at the spike (row 1), the smoothed one between rows 3 and 4
    var spiky = curve(10, 0, 0.9, 0, 0.3, 0.6, 0.9);
    var result = TimeToReward.compare(spiky, spiky);
    assertThat(result.target()).isCloseTo(0.48, within(1e-12));
    assertThat(result.syncSeconds().getAsDouble()).isCloseTo(36, within(1e-9));
    assertThat(result.syncOverAsync().getAsDouble()).isCloseTo(1, within(1e-12));
  }

  @Test
  void aRunThatNeverRisesDoesNotReachTheOthersTarget() {
    var flat = curve(5, 0, 0, 0, 0, 0);
    var result = TimeToReward.compare(curve(10, RISING), flat);
    // the target comes from the run that rose: 0.8 * 0.75
    assertThat(result.target()).isCloseTo(0.6, within(1e-12));
    assertThat(result.syncSeconds().getAsDouble()).isCloseTo(24, within(1e-9));
    assertThat(result.asyncSeconds()).isEmpty();
    assertThat(result.reached()).isFalse();
    assertThat(result.syncOverAsync()).isEmpty();
    assertThat(result.describe()).contains("async not reached", "sync/async n/a");
  }

  @Test
  void whenNeitherRunRisesNeitherReachesAnything() {
    var result = TimeToReward.compare(curve(10, 0.5, 0.4, 0.5), curve(5, 0.5, 0.5, 0.3));
    assertThat(result.target()).isEqualTo(0.5);
    assertThat(result.syncSeconds()).isEmpty();
    assertThat(result.asyncSeconds()).isEmpty();
    assertThat(result.describe()).contains("sync not reached", "async not reached");
  }

  @Test
  void aFixedTargetIsInterpolatedBetweenEvaluations() {
    // smoothed [0, 0.25, 0.5, 0.75, 0.875]: 0.8 lies two fifths of the way from 30 s to 40 s
    assertThat(TimeToReward.secondsToReach(curve(10, RISING), 0.8).getAsDouble())
        .isCloseTo(34, within(1e-9));
    assertThat(TimeToReward.secondsToReach(curve(10, RISING), 0.9)).isEmpty();
  }

  @Test
  void curvesWithoutSecondsOrWithOneEvaluationAreRefused() {
    var old =
        List.of(
            new GoldProxyCurve.Point(0, 0, 0, 0, Double.NaN),
            new GoldProxyCurve.Point(10, 1, 0, 0, Double.NaN));
    assertThatThrownBy(() -> TimeToReward.compare(old, curve(5, RISING)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("no seconds at update 0");
    assertThatThrownBy(() -> TimeToReward.compare(curve(10, RISING), curve(5, 0.1)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("async curve has 1 evaluation");
  }
}
