package io.streamrlhf.infra.stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.streamrlhf.actors.ActorNode;
import io.streamrlhf.actors.LabelerSettings;
import io.streamrlhf.actors.SimulatedLabelerPool;
import io.streamrlhf.actors.SimulatedLabelers;
import io.streamrlhf.schemas.Comparison;
import io.streamrlhf.schemas.LabelRequest;
import io.streamrlhf.schemas.Topics;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

/**
 * Simulated labelers as a stream: label requests in, comparisons out, ranked as TASKS.md's labelers
 * rank, at the set rate, and nothing lost when the labelers stop and start again.
 */
class SimulatedLabelersTest {
  private static final Duration WAIT = Duration.ofSeconds(90);

  /**
   * "Reverse {w}.": a chatter answer, the clean one, a slip, and a copy of the clean one (which
   * ties with it).
   */
  static LabelRequest request(int i) {
    var id = "lab:0:" + i + "#label";
    var text = LoopFeed.promptText(id);
    var word = text.substring("Reverse ".length(), text.length() - 2);
    var clean = new StringBuilder(word).reverse().toString();
    var slip = clean.substring(0, 3) + (clean.charAt(3) == 'z' ? 'a' : 'z');
    return LabelRequest.newBuilder()
        .setRequestId(id)
        .setPromptId("lab:0:" + i)
        .setPromptText(text)
        .setResponses(List.of("Sure! " + clean, clean, slip, clean))
        .setPolicyVersion(0)
        .setActorId("test")
        .setCreatedAt(Instant.now())
        .build();
  }

  static List<LabelRequest> requests(int n) {
    return IntStream.range(0, n).mapToObj(SimulatedLabelersTest::request).toList();
  }

  @Test
  void labelRequestsBecomeComparisonsRankedAsTasksMdsLabelersRankAtTheSetRate() throws Exception {
    var bootstrap = LoopBroker.fresh();
    var vertx = ActorNode.newVertx();
    double beta = 1.0;
    var settings =
        LabelerSettings.of(bootstrap)
            .withRate(100)
            .withLabelers(3)
            .withBeta(beta, 1)
            .withOverlap(0.2);
    var requests = requests(300);
    var watch = new Watch();
    try (var feed = new LoopFeed(bootstrap);
        var comparisons = new TopicTail<>(bootstrap, Topics.COMPARISONS, Comparison.class)) {
      feed.publishLabelRequests(requests);
      var labelers = SimulatedLabelers.deploy(vertx, settings, watch::line);
      List<Comparison> ranked;
      try {
        ranked =
            comparisons.until(
                c -> c.stream().map(Comparison::getRequestId).distinct().count() == 300,
                "comparisons of all 300 requests",
                WAIT);
      } finally {
        labelers.undeploy();
      }

      assertThat(ranked)
          .allSatisfy(
              c -> {
                assertThat(c.getKind()).isEqualTo("simulated");
                assertThat(c.getLabelerId()).isIn("simulated-1", "simulated-2", "simulated-3");
                assertThat(c.getIdempotencyKey())
                    .isEqualTo(c.getRequestId() + "/" + c.getLabelerId());
                assertThat(c.getComparisonId()).isEqualTo(c.getIdempotencyKey());
                assertThat(c.getRanks()).hasSize(4);
                assertThat(c.getRanks().get(3)).as("a copy ties").isEqualTo(c.getRanks().get(1));
              });
      assertThat(ranked).extracting(Comparison::getIdempotencyKey).doesNotHaveDuplicates();
      var perRequest =
          ranked.stream()
              .collect(Collectors.groupingBy(Comparison::getRequestId, Collectors.counting()));
      long overlapping = perRequest.values().stream().filter(n -> n == 2).count();
      assertThat(overlapping / 300.0).as("overlap share").isCloseTo(0.2, within(0.08));
      assertThat(ranked.stream().map(Comparison::getLabelerId).distinct()).hasSize(3);

      // a labeler orders the clean answer over the chatter one with probability σ(gap / β)
      var scores = SimulatedLabelerPool.oracleScores(requests.get(0));
      double expected = 1 / (1 + Math.exp(-(scores[1] - scores[0]) / beta));
      long cleanFirst =
          ranked.stream().filter(c -> c.getRanks().get(1) < c.getRanks().get(0)).count();
      assertThat(cleanFirst / (double) ranked.size()).isCloseTo(expected, within(0.05));
      assertThat(cleanFirst).as("noisy labelers, not the oracle").isLessThan(ranked.size());

      // 300 requests at 100 per second, a second's worth at once: at least 2 s from first to last
      var times = ranked.stream().map(c -> c.getCreatedAt().toEpochMilli()).sorted().toList();
      assertThat(times.get(times.size() - 1) - times.get(0)).isGreaterThan(1_500);
    } finally {
      vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  @Test
  void labelersStoppedMidStreamAndStartedAgainRankEveryRequestUnderTheSameKeys() throws Exception {
    var bootstrap = LoopBroker.fresh();
    var vertx = ActorNode.newVertx();
    var settings = LabelerSettings.of(bootstrap).withRate(20).withBeta(1.0, 1).withOverlap(0);
    var watch = new Watch();
    try (var feed = new LoopFeed(bootstrap);
        var comparisons = new TopicTail<>(bootstrap, Topics.COMPARISONS, Comparison.class)) {
      feed.publishLabelRequests(requests(80));
      var first = SimulatedLabelers.deploy(vertx, settings, watch::line);
      try {
        comparisons.until(c -> c.size() >= 30, "the first comparisons", WAIT);
      } finally {
        first.undeploy();
      }
      // offsets are committed only past requests whose comparisons the broker acknowledged
      long committed = committedOffset(bootstrap, settings.groupId());
      var answered =
          comparisons.toEnd(WAIT).stream()
              .map(Comparison::getRequestId)
              .collect(Collectors.toSet());
      assertThat(committed).isPositive().isLessThan(80);
      for (int i = 0; i < committed; i++)
        assertThat(answered).as("request at offset %d", i).contains(request(i).getRequestId());

      var second = SimulatedLabelers.deploy(vertx, settings, watch::line);
      List<Comparison> all;
      try {
        all =
            comparisons.until(
                c -> c.stream().map(Comparison::getRequestId).distinct().count() == 80,
                "comparisons of all 80 requests",
                WAIT);
      } finally {
        second.undeploy();
      }
      // a request ranked twice (answered, not yet committed) is ranked alike, under one key
      Map<String, Set<List<Integer>>> ranksByKey = new HashMap<>();
      for (var c : all)
        ranksByKey
            .computeIfAbsent(c.getIdempotencyKey(), k -> new java.util.HashSet<>())
            .add(c.getRanks());
      assertThat(ranksByKey).hasSize(80);
      assertThat(ranksByKey.values()).allSatisfy(r -> assertThat(r).hasSize(1));
    } finally {
      vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  @Test
  void withoutABetaTheLabelersCalibrateItOnTheFirstRequestsAndSayWhatTheyMeasured()
      throws Exception {
    var lines = calibratingLabelersRank(32, requests(40));
    var line = lines.stream().filter(l -> l.contains("calibrated on")).findFirst().orElseThrow();
    var m = java.util.regex.Pattern.compile("two labelers agree on (0\\.\\d+) of").matcher(line);
    assertThat(m.find()).as(line).isTrue();
    assertThat(Double.parseDouble(m.group(1))).isCloseTo(0.73, within(0.06));
    assertThat(line).contains("(target 0.730)");
    // on the first 32 as it said at start, though all 40 were there to poll at once
    assertThat(line).contains("calibrated on 32 requests");
  }

  @Test
  void requestsWhoseAnswersAllScoreAlikeDoNotCountTowardsTheCalibrationNorStallIt()
      throws Exception {
    // first, two requests answered "1" and "2": both as far from the reversed word, a tie
    var all = new java.util.ArrayList<>(List.of(tied(0), tied(1)));
    all.addAll(IntStream.range(2, 6).mapToObj(SimulatedLabelersTest::request).toList());

    var lines = calibratingLabelersRank(2, all);

    // the two ties and the two requests after them that count
    assertThat(lines).anyMatch(l -> l.contains("calibrated on 4 requests"));
  }

  @Test
  void aCalibrationThatFillsTheHoldLimitCalibratesOnWhatItHolds() throws Exception {
    // 1,000 asked for, the most the labelers hold; one of the 1,000 published ties
    var all = new java.util.ArrayList<>(List.of(tied(0)));
    all.addAll(IntStream.range(1, 1000).mapToObj(SimulatedLabelersTest::request).toList());

    var lines = calibratingLabelersRank(1000, all);

    assertThat(lines)
        .anyMatch(l -> l.contains("only 999 of them with answers that score differently"))
        .anyMatch(l -> l.contains("calibrated on 1000 requests"));
  }

  /** Request i answered "1" and "2": both as far from the reversed word, so they tie. */
  private static LabelRequest tied(int i) {
    return LabelRequest.newBuilder(request(i)).setResponses(List.of("1", "2")).build();
  }

  /**
   * Labelers without a beta, calibrating on {@code calibrationRequests}, rank {@code requests} on a
   * fresh broker until each has a comparison; what they logged.
   */
  private static List<String> calibratingLabelersRank(
      int calibrationRequests, List<LabelRequest> requests) throws Exception {
    var bootstrap = LoopBroker.fresh();
    var vertx = ActorNode.newVertx();
    var settings = LabelerSettings.of(bootstrap).withRate(1000).withBeta(null, calibrationRequests);
    var watch = new Watch();
    try (var feed = new LoopFeed(bootstrap);
        var comparisons = new TopicTail<>(bootstrap, Topics.COMPARISONS, Comparison.class)) {
      feed.publishLabelRequests(requests);
      var labelers = SimulatedLabelers.deploy(vertx, settings, watch::line);
      try {
        comparisons.until(
            c -> c.stream().map(Comparison::getRequestId).distinct().count() == requests.size(),
            "comparisons of all " + requests.size() + " requests",
            WAIT);
      } finally {
        labelers.undeploy();
      }
      return watch.lines();
    } finally {
      vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  private static long committedOffset(String bootstrap, String group) throws Exception {
    try (var admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
      var offsets =
          admin
              .listConsumerGroupOffsets(group)
              .partitionsToOffsetAndMetadata()
              .get(30, TimeUnit.SECONDS);
      var offset = offsets.get(new TopicPartition(Topics.LABEL_REQUESTS, 0));
      return offset == null ? 0 : offset.offset();
    }
  }
}
