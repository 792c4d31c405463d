package io.streamrlhf.infra.stream;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamrlhf.actors.ActorEvents;
import io.streamrlhf.actors.ActorNode;
import io.streamrlhf.actors.ActorSettings;
import io.streamrlhf.actors.RolloutActor;
import io.streamrlhf.infra.kafka.BrokerUsers;
import io.streamrlhf.infra.kafka.EmbeddedKafka;
import io.streamrlhf.infra.kafka.LoopRole;
import io.streamrlhf.infra.kafka.TopicProvisioner;
import io.streamrlhf.model.Gpt;
import io.streamrlhf.model.RewardModel;
import io.streamrlhf.schemas.WeightModel;
import io.streamrlhf.schemas.signing.TrustedWeightKeys;
import io.streamrlhf.schemas.signing.WeightSigner;
import io.streamrlhf.schemas.transport.KafkaClientConfigs;
import io.streamrlhf.schemas.transport.WeightPublisher;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.junit.jupiter.api.Test;

/**
 * On a broker with authentication and ACLs, someone holding the learner's Kafka credentials but not
 * its signing key publishes policy versions: the actor ignores them, says so once per version,
 * keeps its weights and applies the learner's next genuine version.
 */
class ForgedWeightsTest {
  private static final int CHUNK_BYTES = 8 * 1024;
  private static final Duration WAIT = Duration.ofSeconds(60);

  @Test
  void forgedVersionsAreIgnoredAndLoggedAndTheNextGenuineOneIsApplied() throws Exception {
    var users =
        new BrokerUsers(
            Map.of(
                "root", new BrokerUsers.User("root", LoopRole.ADMIN, "root-secret"),
                "learner", new BrokerUsers.User("learner", LoopRole.LEARNER, "learner-secret"),
                "actor-1", new BrokerUsers.User("actor-1", LoopRole.ACTOR, "actor-secret")));
    var learnerKey = WeightSigner.generate();
    var forgerKey = WeightSigner.generate();
    try (var kafka = EmbeddedKafka.start(EmbeddedKafka.Options.defaults().withUsers(users))) {
      TopicProvisioner.provision(kafka.access(), WAIT);
      var vertx = ActorNode.newVertx();
      var applied = Collections.synchronizedList(new ArrayList<Long>());
      vertx
          .eventBus()
          .<JsonObject>consumer(ActorEvents.APPLIED, m -> applied.add(m.body().getLong("version")));
      var watch = new Watch();
      try (var producer =
              new KafkaProducer<byte[], byte[]>(
                  KafkaClientConfigs.producer(kafka.access("learner"), "stolen-credentials"));
          var policy = Gpt.create(TinyRun.SHAPE, 5)) {
        var models =
            new RolloutActor.Models(
                () -> Gpt.create(TinyRun.SHAPE, 1),
                reference -> RewardModel.headOnly(Gpt.create(TinyRun.SHAPE, 2)));
        var settings =
            ActorSettings.of("actor-f", kafka.access("actor-1"), 1, 8, 1.0)
                .withWeightKeys(
                    TrustedWeightKeys.none().with(WeightModel.POLICY, learnerKey.publicKey()));
        var node = ActorNode.deploy(vertx, settings, models, watch::line);
        try {
          var learner = new WeightPublisher(producer, CHUNK_BYTES, learnerKey);
          learner.publish(LoopFeed.policyVersion(policy, 1), WAIT);
          Watch.until(() -> applied.contains(1L), "v1 applied", WAIT);

          new WeightPublisher(producer, CHUNK_BYTES)
              .publish(LoopFeed.policyVersion(policy, 2), WAIT);
          new WeightPublisher(producer, CHUNK_BYTES, forgerKey)
              .publish(
                  LoopFeed.policyVersion(policy, Long.MAX_VALUE),
                  WAIT); // would block every later version
          watch.await(
              l -> l.contains("rejected policy v" + Long.MAX_VALUE), "the forgery logged", WAIT);
          learner.publish(LoopFeed.policyVersion(policy, 3), WAIT);
          Watch.until(() -> applied.contains(3L), "genuine v3 applied after the forgeries", WAIT);

          assertThat(applied).containsExactly(1L, 3L);
          assertThat(watch.lines())
              .contains(
                  "actor-f: applies only policy versions signed by key " + learnerKey.keyId());
          assertThat(watch.lines())
              .filteredOn(l -> l.contains("rejected policy v2 "))
              .singleElement()
              .asString()
              .contains("unsigned")
              .contains("keeping the current weights");
          assertThat(watch.lines())
              .filteredOn(l -> l.contains("rejected policy v" + Long.MAX_VALUE + " "))
              .singleElement()
              .asString()
              .contains("signed by key " + forgerKey.keyId())
              .contains("not by the trusted key " + learnerKey.keyId());
        } finally {
          node.stop();
        }
      } finally {
        vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
      }
    }
  }
}
