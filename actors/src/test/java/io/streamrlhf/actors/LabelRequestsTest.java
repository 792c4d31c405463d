package io.streamrlhf.actors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class LabelRequestsTest {

  @Test
  void theShareOfPromptsAskedAboutIsTheConfiguredOneAndAFunctionOfTheIdAlone() {
    var ids = IntStream.range(0, 4000).mapToObj(i -> "run:" + (i / 64) + ":" + (i % 64)).toList();
    for (double share : new double[] {0.1, 0.25, 0.5}) {
      long asked = ids.stream().filter(id -> LabelRequests.asks(id, share)).count();
      assertThat(asked / 4000.0).as("share %s", share).isCloseTo(share, within(0.03));
    }
    assertThat(ids).noneMatch(id -> LabelRequests.asks(id, 0));
    assertThat(ids).allMatch(id -> LabelRequests.asks(id, 1));
    // a larger share asks about every prompt a smaller one does
    assertThat(ids)
        .filteredOn(id -> LabelRequests.asks(id, 0.1))
        .allMatch(id -> LabelRequests.asks(id, 0.5));
    assertThat(LabelRequests.requestId("run:3:7")).isEqualTo(LabelRequests.requestId("run:3:7"));
  }

  @Test
  void settingsRefuseAShareOutsideZeroToOneAndFewerThanTwoAnswers() {
    var settings = ActorSettings.of("a", "localhost:9092", 2, 48, 1.0);
    assertThat(settings.labelRequestShare()).isZero();
    assertThat(settings.labelResponses()).isEqualTo(4);
    assertThat(settings.withLabelRequests(0.25, 6).labelResponses()).isEqualTo(6);
    assertThatThrownBy(() -> settings.withLabelRequests(1.5, 4))
        .hasMessageContaining("share must be in [0, 1]");
    assertThatThrownBy(() -> settings.withLabelRequests(0.5, 1))
        .hasMessageContaining("at least 2 responses");
  }
}
