package io.streamrlhf.infra.stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDManager;
import io.streamrlhf.actors.ActorEvents;
import io.streamrlhf.actors.ActorNode;
import io.streamrlhf.actors.ActorSettings;
import io.streamrlhf.actors.RolloutActor;
import io.streamrlhf.learner.config.PpoConfig;
import io.streamrlhf.model.Gpt;
import io.streamrlhf.model.RewardModel;
import io.streamrlhf.model.ScoringBatch;
import io.streamrlhf.model.checkpoint.Checkpoint;
import io.streamrlhf.schemas.PublishedWeights;
import io.streamrlhf.schemas.Rollout;
import io.streamrlhf.schemas.Topics;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Actors swap reward models the way they swap policies: a version published on rlhf.reward-weights
 * is applied between batches, never torn, and the rollouts after it carry its version and
 * statistics and are scored by it. With a live reward an actor samples nothing before the reward
 * trainer's first version.
 */
class RewardSwapTest {
  private static final Duration WAIT = Duration.ofSeconds(90);

  @Test
  void aPublishedRewardVersionIsAppliedBetweenBatchesAndTheNextRolloutsCarryItsVersionAndStatistics(
      @TempDir Path dir) throws Exception {
    TinyRun.checkpoints(dir);
    var bootstrap = LoopBroker.fresh();
    var vertx = ActorNode.newVertx();
    var policyApplied = Collections.synchronizedList(new ArrayList<Long>());
    var rewardApplied = Collections.synchronizedList(new ArrayList<JsonObject>());
    vertx
        .eventBus()
        .<JsonObject>consumer(
            ActorEvents.APPLIED, m -> policyApplied.add(m.body().getLong("version")));
    vertx
        .eventBus()
        .<JsonObject>consumer(ActorEvents.REWARD_APPLIED, m -> rewardApplied.add(m.body()));
    var watch = new Watch();
    var node =
        ActorNode.deploy(
            vertx,
            ActorSettings.of("actor-r", bootstrap, 2, 12, 1.0),
            RolloutActor.Models.load(
                    dir.resolve("sft"),
                    LocalLoop.actorReward(PpoConfig.REWARD_MODEL, dir.resolve("rm")))
                .withTerms(
                    java.util.Map.of(
                        PublishedWeights.META_REFERENCE_SHA256,
                        Checkpoint.weightsSha256(dir.resolve("sft")))),
            watch::line);
    try (var feed = new LoopFeed(bootstrap);
        var policy = Gpt.create(TinyRun.SHAPE, 5);
        var rmV1 = Gpt.create(TinyRun.SHAPE, 11);
        var rmV3 = Gpt.create(TinyRun.SHAPE, 13);
        var rollouts = new TopicTail<>(bootstrap, Topics.ROLLOUTS, Rollout.class)) {
      feed.publishPolicy(policy, 0);
      Watch.until(() -> policyApplied.contains(0L), "policy v0 applied", WAIT);

      // before any published version: the offline reward model of --rm is v0, with its statistics
      feed.publishPrompts(ids("a", 4));
      var first = rollouts.until(r -> r.size() >= 8, "batch a", WAIT);
      assertThat(first).allSatisfy(r -> assertScoredBy(r, 0, 0.0, 1.0, 0.0));

      feed.publish(LoopFeed.rewardVersion(rmV1, 1, 0.25, 2.5, 0.5));
      Watch.until(() -> rewardApplied.size() >= 1, "reward v1 applied", WAIT);
      feed.publishPrompts(ids("b", 4));
      var second = rollouts.until(r -> r.size() >= 16, "batch b", WAIT).subList(8, 16);
      assertThat(second).allSatisfy(r -> assertScoredBy(r, 1, 0.25, 2.5, 0.5));

      // a version that never completes is never applied; the next whole one is
      feed.publishTorn(LoopFeed.rewardVersion(rmV1, 2, 9, 9, 9));
      feed.publish(LoopFeed.rewardVersion(rmV3, 3, -1.5, 0.75, 0.0));
      Watch.until(() -> rewardApplied.size() >= 2, "reward v3 applied", WAIT);
      feed.publishPrompts(ids("c", 4));
      var third = rollouts.until(r -> r.size() >= 24, "batch c", WAIT).subList(16, 24);
      assertThat(third).allSatisfy(r -> assertScoredBy(r, 3, -1.5, 0.75, 0.0));

      // a trainer of another SFT model: passed over, said so; the next of this one's is applied
      // (v5 only once v4 was looked at: the actor keeps only the newest version pending)
      feed.publish(withReference(LoopFeed.rewardVersion(rmV1, 4, 7, 7, 7), "ab".repeat(32)));
      Watch.until(
          () ->
              watch.lines().stream()
                  .anyMatch(
                      l ->
                          l.startsWith(
                                  "actor-r: reward model v4 not applied: its reward trainer's SFT")
                              && l.endsWith("scoring on with reward model v3")),
          "reward v4 passed over",
          WAIT);
      var sftSha = Checkpoint.weightsSha256(dir.resolve("sft"));
      feed.publish(withReference(LoopFeed.rewardVersion(rmV3, 5, -1.5, 0.75, 0.0), sftSha));
      Watch.until(() -> rewardApplied.size() >= 3, "reward v5 applied", WAIT);

      assertThat(rewardApplied).extracting(e -> e.getLong("version")).containsExactly(1L, 3L, 5L);
      assertThat(rewardApplied)
          .allSatisfy(
              e -> {
                assertThat(e.getString("actorId")).isEqualTo("actor-r");
                assertThat(e.getLong("publishToApplyMs")).isNotNegative();
                assertThat(e.getLong("appliedAt")).isPositive();
              });
      assertThat(watch.lines())
          .anyMatch(l -> l.startsWith("actor-r: reward model v1 applied ("))
          .anyMatch(l -> l.startsWith("actor-r: reward model v3 applied ("))
          .noneMatch(l -> l.contains("reward model v2"));
      // the scores are v3's: its head alone (w = 0), as a fresh copy of its weights scores them
      try (var copy =
              Gpt.fromSnapshot(
                  TinyRun.SHAPE, rmV3.snapshot(3), io.streamrlhf.model.ComputeDevice.CPU);
          var sft = Checkpoint.loadModel(dir.resolve("sft"))) {
        var expected = scores(new RewardModel(copy, sft, 0), third);
        for (int i = 0; i < third.size(); i++) {
          assertThat((double) third.get(i).getRmScore()).isCloseTo(expected[i], within(1e-3));
        }
      }
    } finally {
      node.stop();
      vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  @Test
  void withALiveRewardAnActorSamplesNothingUntilTheTrainersFirstVersion(@TempDir Path dir)
      throws Exception {
    TinyRun.checkpoints(dir);
    var bootstrap = LoopBroker.fresh();
    var vertx = ActorNode.newVertx();
    var policyApplied = Collections.synchronizedList(new ArrayList<Long>());
    vertx
        .eventBus()
        .<JsonObject>consumer(
            ActorEvents.APPLIED, m -> policyApplied.add(m.body().getLong("version")));
    var models =
        RolloutActor.Models.load(
            dir.resolve("sft"), LocalLoop.actorReward(PpoConfig.REWARD_LIVE, null));
    var settings = ActorSettings.of("actor-live", bootstrap, 2, 12, 1.0);
    var watch = new Watch();
    try (var feed = new LoopFeed(bootstrap);
        var policy = Gpt.create(TinyRun.SHAPE, 5);
        var rm = Gpt.create(TinyRun.SHAPE, 17);
        var rollouts = new TopicTail<>(bootstrap, Topics.ROLLOUTS, Rollout.class)) {
      feed.publishPolicy(policy, 0);

      // holding a policy but no reward model, the actor waits for one and says for what it gave up
      var impatient =
          ActorNode.deploy(
              vertx, settings.withVersionWait(Duration.ofSeconds(2)), models, watch::line);
      try {
        // the prompts only once v0 is applied: the 2 s wait must find the reward model alone
        // missing
        Watch.until(() -> policyApplied.contains(0L), "policy v0 applied", WAIT);
        feed.publishPrompts(ids("live", 3));
        var ended = impatient.ended().handle((ok, failure) -> failure).get(60, TimeUnit.SECONDS);
        assertThat(ended)
            .hasMessageContaining(
                "waiting for the first reward-model version for 3 queued prompt(s)")
            .hasMessageContaining(
                "is the reward trainer running and publishing to rlhf.reward-weights?");
        assertThat(policyApplied).contains(0L);
        assertThat(rollouts.toEnd(WAIT)).isEmpty();
      } finally {
        impatient.stop();
      }

      var patient = ActorNode.deploy(vertx, settings, models, watch::line);
      try {
        feed.publish(LoopFeed.rewardVersion(rm, 0, 0.5, 1.5, 0.0));
        var scored =
            rollouts.until(r -> r.size() >= 6, "rollouts after the first reward version", WAIT);
        assertThat(scored).allSatisfy(r -> assertScoredBy(r, 0, 0.5, 1.5, 0.0));
        assertThat(watch.lines())
            .anyMatch(l -> l.startsWith("actor-live: reward model v0 applied ("));
      } finally {
        patient.stop();
      }
    } finally {
      vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  private static PublishedWeights withReference(PublishedWeights version, String sftSha256) {
    var meta = new java.util.HashMap<>(version.meta());
    meta.put(PublishedWeights.META_REFERENCE_SHA256, sftSha256);
    return new PublishedWeights(
        version.model(), version.version(), version.bytes(), meta, version.publishedAt());
  }

  private static void assertScoredBy(
      Rollout r, long version, double mean, double std, double likelihoodWeight) {
    assertThat(r.getRewardVersion()).as(r.getRolloutId()).isEqualTo(version);
    assertThat(r.getRewardMean()).as(r.getRolloutId()).isEqualTo((float) mean);
    assertThat(r.getRewardStd()).as(r.getRolloutId()).isEqualTo((float) std);
    assertThat(r.getRewardLikelihoodWeight())
        .as(r.getRolloutId())
        .isEqualTo((float) likelihoodWeight);
  }

  private static List<String> ids(String batch, int n) {
    return IntStream.range(0, n).mapToObj(i -> "swap:" + batch + ":" + i).toList();
  }

  private static double[] scores(RewardModel reward, List<Rollout> rollouts) {
    var prompts = rollouts.stream().map(r -> ints(r.getPromptTokens())).toList();
    var responses = rollouts.stream().map(r -> ints(r.getResponseTokens())).toList();
    return Gpt.withoutGradient(
        () -> {
          try (var scope = NDManager.newBaseManager("PyTorch")) {
            var scores = reward.scores(ScoringBatch.of(scope, prompts, responses)).toFloatArray();
            var out = new double[scores.length];
            for (int i = 0; i < scores.length; i++) out[i] = scores[i];
            return out;
          }
        });
  }

  private static int[] ints(List<Integer> tokens) {
    return tokens.stream().mapToInt(Integer::intValue).toArray();
  }
}
