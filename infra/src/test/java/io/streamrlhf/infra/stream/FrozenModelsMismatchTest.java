package io.streamrlhf.infra.stream;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamrlhf.actors.ActorEvents;
import io.streamrlhf.actors.ActorNode;
import io.streamrlhf.actors.ActorSettings;
import io.streamrlhf.actors.RolloutActor;
import io.streamrlhf.actors.VerticleFailure;
import io.streamrlhf.infra.kafka.EmbeddedKafka;
import io.streamrlhf.infra.kafka.TopicProvisioner;
import io.streamrlhf.model.Gpt;
import io.streamrlhf.model.RewardModel;
import io.streamrlhf.schemas.PublishedWeights;
import io.streamrlhf.schemas.transport.KafkaClientConfigs;
import io.streamrlhf.schemas.transport.WeightPublisher;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.junit.jupiter.api.Test;

/**
 * An actor started with another SFT model than its learner's would add that model's log-probs to
 * every rollout, and one with another reward source its rewards, and the learner could not tell:
 * the policy versions state the learner's reward source and the SHA-256 of its frozen models, and
 * the actor applies one that matches its own and refuses one that does not, naming both.
 */
class FrozenModelsMismatchTest {
  private static final Duration WAIT = Duration.ofSeconds(60);

  @Test
  void aVersionFromALearnerWithAnotherReferenceStopsTheActorWithBothNamed() throws Exception {
    String mine = "aa".repeat(32);
    String theirs = "bb".repeat(32);
    var refusal =
        refusal(
            Map.of(PublishedWeights.META_REFERENCE_SHA256, mine),
            Map.of(PublishedWeights.META_REFERENCE_SHA256, theirs));
    assertThat(refusal)
        .contains(
            "policy v2 comes from a learner whose SFT model (--sft) has weights SHA-256 "
                + theirs
                + ", and this actor's has "
                + mine
                + ": start the actor with the learner's --sft");
  }

  @Test
  void aVersionFromALearnerAgainstAnotherRewardSourceStopsTheActor() throws Exception {
    // a learner against the oracle states no reward model: only the source tells them apart
    String sft = "aa".repeat(32);
    var refusal =
        refusal(
            Map.of(
                PublishedWeights.META_REWARD_SOURCE,
                "model",
                PublishedWeights.META_REFERENCE_SHA256,
                sft,
                PublishedWeights.META_REWARD_MODEL_SHA256,
                "cc".repeat(32)),
            Map.of(
                PublishedWeights.META_REWARD_SOURCE,
                "oracle",
                PublishedWeights.META_REFERENCE_SHA256,
                sft));
    assertThat(refusal)
        .contains(
            "policy v2 comes from a learner trained against --reward oracle, and this actor scores"
                + " with --reward model: start the actor with the learner's --reward");
  }

  @Test
  void aVersionFromALearnerThatSamplesAtAnotherTemperatureStopsTheActor() throws Exception {
    // its behaviour log-probs would be another temperature's: the learner's importance weights
    // read 0.94 on update 1 with the same weights
    var refusal =
        refusal(
            Map.of("sampling_temperature", "1.0", "responses_per_prompt", "1"),
            Map.of("sampling_temperature", "0.5", "responses_per_prompt", "1"));
    assertThat(refusal)
        .contains(
            "policy v2 comes from a learner with sampling_temperature=0.5, and this actor samples"
                + " with 1.0: start the actor with the learner's settings (--set"
                + " sampling_temperature=0.5, or its --config)");
    assertThat(PublishedWeights.META_SAMPLING)
        .containsExactly("responses_per_prompt", "sampling_temperature");
  }

  /**
   * Runs an actor that scores as {@code mine} states against a learner's v1 stating the same and
   * then a v2 stating {@code theirs}: v1 is applied, v2 stops the actor as the user's mistake, and
   * its message is returned.
   */
  private static String refusal(Map<String, String> mine, Map<String, String> theirs)
      throws Exception {
    try (var kafka = EmbeddedKafka.start()) {
      TopicProvisioner.provision(kafka.access(), WAIT);
      var vertx = ActorNode.newVertx();
      var applied = Collections.synchronizedList(new ArrayList<Long>());
      vertx
          .eventBus()
          .<JsonObject>consumer(ActorEvents.APPLIED, m -> applied.add(m.body().getLong("version")));
      try (var producer =
              new KafkaProducer<byte[], byte[]>(
                  KafkaClientConfigs.producer(kafka.bootstrapServers(), "learner"));
          var policy = Gpt.create(TinyRun.SHAPE, 5)) {
        var models =
            new RolloutActor.Models(
                    () -> Gpt.create(TinyRun.SHAPE, 1),
                    reference -> RewardModel.headOnly(Gpt.create(TinyRun.SHAPE, 2)))
                .withTerms(mine);
        var settings = ActorSettings.of("actor-m", kafka.access(), 1, 8, 1.0);
        var node = ActorNode.deploy(vertx, settings, models, line -> {});
        try {
          var learner = new WeightPublisher(producer, 8 * 1024);
          learner.publish(stating(LoopFeed.policyVersion(policy, 1), mine), WAIT);
          Watch.until(() -> applied.contains(1L), "the matching v1 applied", WAIT);

          learner.publish(stating(LoopFeed.policyVersion(policy, 2), theirs), WAIT);
          var failure =
              org.assertj.core.api.Assertions.catchThrowable(
                  () -> node.ended().get(WAIT.toSeconds(), TimeUnit.SECONDS));
          assertThat(failure).isInstanceOf(ExecutionException.class);
          assertThat(failure.getCause()).isInstanceOf(VerticleFailure.class);
          assertThat(((VerticleFailure) failure.getCause()).internal()).isFalse();
          assertThat(((VerticleFailure) failure.getCause()).usersMistake()).isTrue();
          assertThat(applied).containsExactly(1L);
          return failure.getCause().getMessage();
        } finally {
          node.stop();
        }
      } finally {
        vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
      }
    }
  }

  /** The version with the learner's statement of how its rollouts are scored. */
  private static PublishedWeights stating(PublishedWeights version, Map<String, String> scoring) {
    var meta = new HashMap<>(version.meta());
    meta.putAll(scoring);
    return new PublishedWeights(
        version.model(), version.version(), version.bytes(), meta, version.publishedAt());
  }
}
