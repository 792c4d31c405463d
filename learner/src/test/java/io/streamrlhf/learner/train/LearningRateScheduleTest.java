package io.streamrlhf.learner.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import org.junit.jupiter.api.Test;

class LearningRateScheduleTest {
  // peak 1e-3, floor 1e-4, 10 warm-up steps, 110 steps in all (100 of cosine)
  private final LearningRateSchedule schedule = new LearningRateSchedule(1e-3, 1e-4, 10, 110);

  @Test
  void warmUpRisesLinearlyToThePeak() {
    assertThat(schedule.at(0)).isCloseTo(1e-4, within(1e-15)); // 1e-3·1/10
    assertThat(schedule.at(4)).isCloseTo(5e-4, within(1e-15)); // 1e-3·5/10
    assertThat(schedule.at(9))
        .isCloseTo(1e-3, within(1e-15)); // 1e-3·10/10: warm-up ends at the peak
    assertThat(schedule.at(10)).isCloseTo(1e-3, within(1e-15)); // cosine starts at cos(0) = 1
  }

  @Test
  void cosineDecaysToTheFloorAndStaysThere() {
    // s=35: progress 25/100; 1e-4 + ½·(1 + cos(π/4))·9e-4 = 1e-4 + ½·1.7071068·9e-4 = 8.6819805e-4
    assertThat(schedule.at(35)).isCloseTo(8.6819805e-4, within(1e-11));
    // s=60: halfway, cos(π/2) = 0: 1e-4 + ½·9e-4 = 5.5e-4
    assertThat(schedule.at(60)).isCloseTo(5.5e-4, within(1e-15));
    // s=109: progress 0.99; 1e-4 + ½·(1 + cos(0.99π))·9e-4 = 1e-4 + ½·0.00049344·9e-4 =
    // 1.0022205e-4
    assertThat(schedule.at(109)).isCloseTo(1.0022205e-4, within(1e-11));
    assertThat(schedule.at(110)).isEqualTo(1e-4);
    assertThat(schedule.at(10_000)).isEqualTo(1e-4);
  }

  @Test
  void constantScheduleIsFlatAndBadBoundsAreRejected() {
    var flat = LearningRateSchedule.constant(3e-4);
    assertThat(flat.at(0)).isEqualTo(3e-4);
    assertThat(flat.at(1_000)).isEqualTo(3e-4);
    assertThatThrownBy(() -> new LearningRateSchedule(1e-3, 2e-3, 0, 10))
        .hasMessageContaining("minimum learning rate");
    assertThatThrownBy(() -> new LearningRateSchedule(1e-3, 0, 20, 10))
        .hasMessageContaining("warm-up");
  }
}
