package io.streamrlhf.actors.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class RanksTest {
  @Test
  void acceptsKWholeNumbersInRangeWithTies() {
    assertThat(Ranks.check(List.of(2, 0, 1), 3)).containsExactly(2, 0, 1);
    assertThat(Ranks.check(List.of(0, 0, 1, 3), 4)).containsExactly(0, 0, 1, 3);
    assertThat(Ranks.check(List.of(1L, 0L), 2)).containsExactly(1, 0);
  }

  @Test
  void refusesWrongLengthOutOfRangeAndNonIntegers() {
    assertThatThrownBy(() -> Ranks.check(List.of(0, 1), 3))
        .isInstanceOf(Rejection.class)
        .hasMessageContaining("2 entries")
        .hasMessageContaining("3 answers");
    assertThatThrownBy(() -> Ranks.check(List.of(0, 3, 1), 3)).hasMessageContaining("outside 0..2");
    assertThatThrownBy(() -> Ranks.check(List.of(0, -1, 1), 3)).hasMessageContaining("outside");
    assertThatThrownBy(() -> Ranks.check(List.of(0, 1.5, 1), 3))
        .hasMessageContaining("not a whole number");
    assertThatThrownBy(() -> Ranks.check(List.of(0, "1", 1), 3))
        .hasMessageContaining("not a whole number");
    assertThatThrownBy(() -> Ranks.check(null, 3)).hasMessageContaining("ranks missing");
  }

  @Test
  void groupsBestFirstBecomeDenseRanksAndEveryAnswerMustBeRankedOnce() {
    assertThat(Ranks.fromGroups(List.of(List.of(2), List.of(0, 3), List.of(1)), 4))
        .containsExactly(1, 2, 0, 1);
    assertThatThrownBy(() -> Ranks.fromGroups(List.of(List.of(0), List.of(1)), 3))
        .hasMessageContaining("answer 2 is not ranked");
    assertThatThrownBy(() -> Ranks.fromGroups(List.of(List.of(0), List.of(0, 1)), 2))
        .hasMessageContaining("ranked twice");
  }

  @Test
  void anEmptyBucketTakesNoRank() {
    // Label Studio sends a bucket nobody dragged an item into: the next bucket is still rank 1
    assertThat(Ranks.fromGroups(List.of(List.of(0), List.of(), List.of(1)), 2))
        .containsExactly(0, 1);
  }

  @Test
  void anAnswerIndexOfKIsRefusedNotAnIndexOutOfBounds() {
    // answers are 0..K-1: index K names no answer (and must be a 400, not an exception)
    assertThatThrownBy(() -> Ranks.fromGroups(List.of(List.of(0), List.of(2)), 2))
        .isInstanceOf(Rejection.class)
        .hasMessage("ranked answer 2 is not one of the 2");
  }

  @Test
  void ordinalsAreRenumberedDenselyFromZero() {
    assertThat(Ranks.fromOrdinals(Map.of(0, 3, 1, 1, 2, 1), 3)).containsExactly(1, 0, 0);
  }
}
