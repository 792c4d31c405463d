package io.streamrlhf.schemas.transport;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class DurationsTest {
  @Test
  void wholeSecondsReadInSecondsTheRestInMilliseconds() {
    assertThat(Durations.readable(Duration.ofSeconds(5))).isEqualTo("5 s");
    assertThat(Durations.readable(Duration.ofMinutes(2))).isEqualTo("120 s");
    assertThat(Durations.readable(Duration.ofMillis(2500))).isEqualTo("2500 ms");
    assertThat(Durations.readable(Duration.ofMillis(100))).isEqualTo("100 ms");
    // past what toMillis holds: still whole seconds, no ArithmeticException
    assertThat(Durations.readable(Duration.ofHours(9_999_999_999_999L)))
        .isEqualTo("35999999999996400 s");
  }
}
