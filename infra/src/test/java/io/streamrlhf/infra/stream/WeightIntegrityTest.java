package io.streamrlhf.infra.stream;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamrlhf.actors.ActorEvents;
import io.streamrlhf.actors.ActorNode;
import io.streamrlhf.actors.ActorSettings;
import io.streamrlhf.actors.RolloutActor;
import io.streamrlhf.model.Gpt;
import io.streamrlhf.model.RewardModel;
import io.streamrlhf.schemas.AvroCodec;
import io.streamrlhf.schemas.Topics;
import io.streamrlhf.schemas.WeightChunk;
import io.streamrlhf.schemas.WeightChunker;
import io.streamrlhf.schemas.transport.KafkaClientConfigs;
import io.streamrlhf.schemas.transport.WeightPublisher;
import io.vertx.core.json.JsonObject;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;

/** A torn or corrupted weight version never reaches the actor's policy; the next whole one does. */
class WeightIntegrityTest {
  private static final int CHUNK_BYTES = 8 * 1024;
  private static final Duration WAIT = Duration.ofSeconds(60);

  @Test
  void aCorruptedOrMissingChunkNeverSwapsAndTheActorKeepsItsLastGoodVersion() throws Exception {
    var bootstrap = LoopBroker.fresh();
    var vertx = ActorNode.newVertx();
    var applied = Collections.synchronizedList(new ArrayList<Long>());
    vertx
        .eventBus()
        .<JsonObject>consumer(ActorEvents.APPLIED, m -> applied.add(m.body().getLong("version")));
    var watch = new Watch();
    try (var producer =
            new KafkaProducer<byte[], byte[]>(
                KafkaClientConfigs.producer(bootstrap, "test-weights"));
        var policy = Gpt.create(TinyRun.SHAPE, 5)) {
      RolloutActor.Models models =
          new RolloutActor.Models(
              () -> Gpt.create(TinyRun.SHAPE, 1),
              reference -> RewardModel.headOnly(Gpt.create(TinyRun.SHAPE, 2)));
      var node =
          ActorNode.deploy(
              vertx, ActorSettings.of("actor-w", bootstrap, 1, 8, 1.0), models, watch::line);
      try {
        var publisher = new WeightPublisher(producer, CHUNK_BYTES);
        publisher.publish(LoopFeed.policyVersion(policy, 1), WAIT);
        Watch.until(() -> applied.contains(1L), "v1 applied", WAIT);

        var corrupted = WeightChunker.split(LoopFeed.policyVersion(policy, 2), CHUNK_BYTES);
        assertThat(corrupted).hasSizeGreaterThan(2);
        var data = corrupted.get(1).getData().duplicate();
        var flipped = new byte[data.remaining()];
        data.get(flipped);
        flipped[flipped.length / 2] ^=
            0x40; // one bit in the middle of the weights; the SHA-256 still the original's
        corrupted.get(1).setData(ByteBuffer.wrap(flipped));
        send(producer, corrupted);
        var torn =
            new ArrayList<>(WeightChunker.split(LoopFeed.policyVersion(policy, 3), CHUNK_BYTES));
        torn.remove(torn.size() - 1); // the last chunk never arrives
        send(producer, torn);
        publisher.publish(LoopFeed.policyVersion(policy, 4), WAIT);

        Watch.until(() -> applied.contains(4L), "v4 applied", WAIT);
        assertThat(applied).containsExactly(1L, 4L);
        assertThat(watch.lines())
            .noneMatch(l -> l.contains("policy v2") || l.contains("policy v3"));
      } finally {
        node.stop();
      }
    } finally {
      vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  private static void send(KafkaProducer<byte[], byte[]> producer, List<WeightChunk> chunks)
      throws Exception {
    var codec = AvroCodec.of(WeightChunk.class);
    for (var chunk : chunks) {
      producer
          .send(
              new ProducerRecord<>(
                  Topics.POLICY_WEIGHTS,
                  WeightChunker.key(chunk).getBytes(StandardCharsets.UTF_8),
                  codec.encode(chunk)))
          .get(30, TimeUnit.SECONDS);
    }
  }
}
