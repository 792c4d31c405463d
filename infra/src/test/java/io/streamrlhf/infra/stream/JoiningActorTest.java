package io.streamrlhf.infra.stream;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamrlhf.actors.ActorEvents;
import io.streamrlhf.actors.ActorNode;
import io.streamrlhf.actors.ActorSettings;
import io.streamrlhf.actors.RolloutActor;
import io.streamrlhf.model.Gpt;
import io.streamrlhf.model.RewardModel;
import io.streamrlhf.schemas.transport.KafkaClientConfigs;
import io.streamrlhf.schemas.transport.WeightPublisher;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.Collections;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.junit.jupiter.api.Test;

/**
 * An actor that joins after a version was published reads it from the log: the time since it was
 * published measures the joining, and the actor says so rather than report it as publish-to-apply.
 */
class JoiningActorTest {
  private static final Duration WAIT = Duration.ofSeconds(60);

  @Test
  void aVersionPublishedBeforeTheActorStartedIsMarkedJoinedAndTheNextOneIsNot() throws Exception {
    var bootstrap = LoopBroker.fresh();
    var vertx = ActorNode.newVertx();
    Map<Long, JsonObject> applied = Collections.synchronizedMap(new HashMap<>());
    vertx
        .eventBus()
        .<JsonObject>consumer(
            ActorEvents.APPLIED, m -> applied.put(m.body().getLong("version"), m.body()));
    var watch = new Watch();
    try (var producer =
            new KafkaProducer<byte[], byte[]>(
                KafkaClientConfigs.producer(bootstrap, "test-weights"));
        var policy = Gpt.create(TinyRun.SHAPE, 5)) {
      var publisher = new WeightPublisher(producer, 8 * 1024);
      publisher.publish(LoopFeed.policyVersion(policy, 1), WAIT); // before any actor listens

      RolloutActor.Models models =
          new RolloutActor.Models(
              () -> Gpt.create(TinyRun.SHAPE, 1),
              reference -> RewardModel.headOnly(Gpt.create(TinyRun.SHAPE, 2)));
      var node =
          ActorNode.deploy(
              vertx, ActorSettings.of("actor-j", bootstrap, 1, 8, 1.0), models, watch::line);
      try {
        Watch.until(() -> applied.containsKey(1L), "v1 applied", WAIT);
        publisher.publish(LoopFeed.policyVersion(policy, 2), WAIT);
        Watch.until(() -> applied.containsKey(2L), "v2 applied", WAIT);

        assertThat(applied.get(1L).getBoolean("joined")).isTrue();
        assertThat(applied.get(2L).getBoolean("joined")).isFalse();
        assertThat(watch.lines())
            .anyMatch(
                l ->
                    l.contains(
                        "policy v1 applied (published before this actor started; read from"
                            + " the log)"));
      } finally {
        node.stop();
      }
    } finally {
      vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }
}
