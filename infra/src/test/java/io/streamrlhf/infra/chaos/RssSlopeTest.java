package io.streamrlhf.infra.chaos;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class RssSlopeTest {
  @Test
  void aSteadyGrowthGivesItsRateInMegabytesPerHour() {
    var samples = new ArrayList<RssSlope.Sample>();
    // 300 MB growing by 10 MB per hour, sampled every 10 s for 30 minutes, with ±1 MB noise
    for (int i = 0; i <= 180; i++) {
      double t = i * 10.0;
      long kb = (long) (300_000 + 10_000 * t / 3600 + (i % 2 == 0 ? 1000 : -1000));
      samples.add(new RssSlope.Sample(t, kb));
    }
    assertThat(RssSlope.mbPerHour(samples)).isCloseTo(10.0, within(0.5));
  }

  @Test
  void theWarmUpIsLeftOut() {
    var samples = new ArrayList<RssSlope.Sample>();
    for (int i = 0; i <= 180; i++) {
      double t = i * 10.0;
      // grows 200 MB in the first two minutes, then stays flat
      long kb = t < 120 ? (long) (100_000 + 200_000 * t / 120) : 300_000;
      samples.add(new RssSlope.Sample(t, kb));
    }
    assertThat(RssSlope.mbPerHour(samples)).isGreaterThan(50);
    var kept = RssSlope.afterWarmUp(samples);
    assertThat(kept.get(0).seconds()).isGreaterThanOrEqualTo(360);
    assertThat(RssSlope.mbPerHour(kept)).isCloseTo(0.0, within(1e-9));
  }

  @Test
  void oneSampleHasNoSlope() {
    assertThat(RssSlope.mbPerHour(List.of(new RssSlope.Sample(0, 1)))).isNaN();
  }
}
