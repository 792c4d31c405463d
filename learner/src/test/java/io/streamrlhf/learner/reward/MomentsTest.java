package io.streamrlhf.learner.reward;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import org.junit.jupiter.api.Test;

class MomentsTest {
  @Test
  void meanAndPopulationStandardDeviationByHand() {
    // 1, 2, 3, 4: mean 2.5, squares 2.25 + 0.25 + 0.25 + 2.25 = 5, population variance 5/4
    var m = Moments.of(List.of(1.0, 2.0, 3.0, 4.0));
    assertThat(m.mean()).isEqualTo(2.5);
    assertThat(m.std()).isCloseTo(Math.sqrt(1.25), within(1e-12));
    assertThat(Moments.of(List.of(7.0, 7.0)).std()).isEqualTo(1e-6); // floored: it divides
  }

  @Test
  void correlationByHand() {
    assertThat(Moments.correlation(List.of(1.0, 2.0, 3.0), List.of(10.0, 20.0, 30.0)))
        .isCloseTo(1.0, within(1e-12));
    assertThat(Moments.correlation(List.of(1.0, 2.0, 3.0), List.of(30.0, 20.0, 10.0)))
        .isCloseTo(-1.0, within(1e-12));
    // x 1, 2, 3 against y 1, 3, 2: dx -1, 0, 1, dy -1, 1, 0; r = 1 / sqrt(2 * 2) = 0.5
    assertThat(Moments.correlation(List.of(1.0, 2.0, 3.0), List.of(1.0, 3.0, 2.0)))
        .isCloseTo(0.5, within(1e-12));
    assertThat(Moments.correlation(List.of(1.0, 2.0), List.of(5.0, 5.0))).isZero();
  }
}
