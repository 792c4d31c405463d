package io.streamrlhf.actors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import io.streamrlhf.schemas.Comparison;
import io.streamrlhf.schemas.LabelRequest;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The stream's labelers rank as TASKS.md's labelers do, and the same request alike every time. */
class SimulatedLabelerPoolTest {
  private static final Instant NOW = Instant.parse("2026-01-01T00:00:00Z");

  /** "Reverse abcd.": a clean answer, a chatter one, a slip, and a copy of the clean one. */
  static LabelRequest request(String id) {
    return LabelRequest.newBuilder()
        .setRequestId(id)
        .setPromptId(id)
        .setPromptText("Reverse abcd.\n")
        .setResponses(List.of("Sure! dcba", "dcba", "dcbb", "dcba"))
        .setPolicyVersion(0)
        .setCreatedAt(NOW)
        .build();
  }

  @Test
  void aCleanAnswerBeatsAChatterOneAtTheBradleyTerryRateOfItsScoreGap() {
    double beta = 1.0;
    var pool = new SimulatedLabelerPool(4, beta, 0, 7);
    var scores = SimulatedLabelerPool.oracleScores(request("x"));
    assertThat(scores[1]).as("clean").isEqualTo(3.5);
    assertThat(scores[0]).as("chatter").isLessThan(scores[2]).as("slip");
    // a labeler orders i over j with probability σ((s_i − s_j)/β) (Labeler's Plackett-Luce draw)
    double expected = 1 / (1 + Math.exp(-(scores[1] - scores[0]) / beta));
    int n = 600;
    int cleanFirst = 0;
    for (int i = 0; i < n; i++) {
      var ranks = pool.answer(request("r" + i), NOW).get(0).getRanks();
      if (ranks.get(1) < ranks.get(0)) cleanFirst++;
      assertThat(ranks.get(3)).as("a copy ties with its original").isEqualTo(ranks.get(1));
    }
    assertThat(cleanFirst / (double) n).isCloseTo(expected, within(0.04));
    assertThat(cleanFirst).as("noisy, not the oracle's order").isLessThan(n);
  }

  @Test
  void theSameRequestGetsTheSameComparisonsUnderTheSameKeys() {
    var pool = new SimulatedLabelerPool(3, 1.0, 1.0, 7);
    var first = pool.answer(request("run:1:2#label"), NOW);
    var again = pool.answer(request("run:1:2#label"), NOW);
    assertThat(again).isEqualTo(first);
    assertThat(first).hasSize(2); // overlap 1: a second labeler ranks every request
    assertThat(first.stream().map(Comparison::getLabelerId).distinct()).hasSize(2);
    for (var c : first) {
      assertThat(c.getKind()).isEqualTo("simulated");
      assertThat(c.getRequestId()).isEqualTo("run:1:2#label");
      assertThat(c.getIdempotencyKey()).isEqualTo("run:1:2#label/" + c.getLabelerId());
      assertThat(c.getComparisonId()).isEqualTo(c.getIdempotencyKey());
      assertThat(c.getResponses()).isEqualTo(request("x").getResponses());
    }
    assertThat(new SimulatedLabelerPool(1, 1.0, 1.0, 7).answer(request("y"), NOW))
        .as("one labeler cannot overlap with another")
        .hasSize(1);
  }

  @Test
  void twoLabelersAreEnoughToOverlap() {
    var pool = new SimulatedLabelerPool(2, 1.0, 1.0, 7);
    // overlap 1: the other of the two ranks the request as well
    assertThat(pool.answer(request("y"), NOW))
        .extracting(Comparison::getLabelerId)
        .containsExactlyInAnyOrder("simulated-1", "simulated-2");
  }

  @Test
  void anotherCrewRanksTheSameRequestsAsOtherLabelersUnderIdsOfItsOwn() {
    var first = new SimulatedLabelerPool(2, 1.0, 0, 7);
    var second = new SimulatedLabelerPool(2, 1.0, 0, 7, "g2");
    int differentOrders = 0;
    for (int i = 0; i < 200; i++) {
      var a = first.answer(request("s" + i), NOW).get(0);
      var b = second.answer(request("s" + i), NOW).get(0);
      assertThat(a.getLabelerId()).startsWith("simulated-");
      assertThat(b.getLabelerId()).isEqualTo("g2/" + a.getLabelerId());
      assertThat(b.getComparisonId()).isEqualTo("s" + i + "/" + b.getLabelerId());
      assertThat(b.getIdempotencyKey()).isEqualTo(b.getComparisonId());
      if (!a.getRanks().equals(b.getRanks())) differentOrders++;
    }
    // the same seed, but noise of their own: not a copy of the first crew's orders
    assertThat(differentOrders).isGreaterThan(50);
  }

  @Test
  void requestsAreSharedAmongTheLabelers() {
    var pool = new SimulatedLabelerPool(4, 1.0, 0, 7);
    var ids =
        java.util.stream.IntStream.range(0, 400)
            .mapToObj(i -> pool.answer(request("q" + i), NOW).get(0).getLabelerId())
            .collect(
                java.util.stream.Collectors.groupingBy(
                    s -> s, java.util.stream.Collectors.counting()));
    assertThat(ids.keySet())
        .containsExactlyInAnyOrder("simulated-1", "simulated-2", "simulated-3", "simulated-4");
    assertThat(ids.values()).allMatch(c -> c > 60);
  }

  @Test
  void aPromptThatIsNoTaskCannotBeRankedBySimulatedLabelers() {
    var pool = new SimulatedLabelerPool(2, 1.0, 0, 7);
    var request = request("z");
    request.setPromptText("Write a poem about Kafka.\n");
    assertThatThrownBy(() -> pool.answer(request, NOW))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("not a task prompt");
  }
}
