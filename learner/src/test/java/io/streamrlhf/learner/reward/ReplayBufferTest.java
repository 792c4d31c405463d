package io.streamrlhf.learner.reward;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamrlhf.tasks.SplitMix64;
import java.util.List;
import org.junit.jupiter.api.Test;

class ReplayBufferTest {
  private static RankedComparison comparison(int i) {
    return new RankedComparison(
        "c" + i, "c" + i, "l", "Reverse abc.\n", List.of("cba", "abc"), new int[] {0, 1}, null);
  }

  @Test
  void keepsAUniformSampleOfEverythingOfferedWithinItsCapacity() {
    var buffer = new ReplayBuffer(100);
    var rng = new SplitMix64(1);
    for (int i = 0; i < 50; i++) buffer.offer(comparison(i), rng);
    assertThat(buffer.size()).isEqualTo(50); // room for all
    for (int i = 50; i < 10_000; i++) buffer.offer(comparison(i), rng);
    assertThat(buffer.size()).isEqualTo(100);
    assertThat(buffer.offered()).isEqualTo(10_000);
    // a uniform sample of 0..9999 has a mean index near 5000 (std of the mean about 290); a buffer
    // of the newest (a FIFO) would sit near 9950, one that stopped filling near 50
    double meanIndex =
        buffer.state().comparisons().stream()
            .mapToInt(c -> Integer.parseInt(c.id().substring(1)))
            .average()
            .orElseThrow();
    assertThat(meanIndex).isBetween(4000.0, 6000.0);
  }

  @Test
  void samplesDistinctComparisonsAndAllWhenAskedForMore() {
    var buffer = new ReplayBuffer(10);
    var rng = new SplitMix64(2);
    for (int i = 0; i < 10; i++) buffer.offer(comparison(i), rng);
    assertThat(buffer.sample(4, rng)).hasSize(4).doesNotHaveDuplicates();
    assertThat(buffer.sample(20, rng)).hasSize(10).doesNotHaveDuplicates();
    assertThat(new ReplayBuffer(10).sample(3, rng)).isEmpty();
  }

  @Test
  void aBufferRestoredFromItsStateReplaysAndKeepsWhatTheOriginalWould() {
    var original = new ReplayBuffer(20);
    var rng = new SplitMix64(3);
    for (int i = 0; i < 100; i++) original.offer(comparison(i), rng);
    var restored = new ReplayBuffer(20, original.state());
    var restoredRng = SplitMix64.restore(rng.state());
    for (int i = 100; i < 150; i++) {
      var c = comparison(i);
      original.offer(c, rng);
      restored.offer(c, restoredRng);
    }
    assertThat(ids(restored.sample(5, restoredRng))).isEqualTo(ids(original.sample(5, rng)));
    assertThat(ids(restored.state().comparisons())).isEqualTo(ids(original.state().comparisons()));
  }

  private static List<String> ids(List<RankedComparison> comparisons) {
    return comparisons.stream().map(RankedComparison::id).toList();
  }
}
