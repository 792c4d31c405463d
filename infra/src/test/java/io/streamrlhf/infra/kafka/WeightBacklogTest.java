package io.streamrlhf.infra.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamrlhf.schemas.PublishedWeights;
import io.streamrlhf.schemas.WeightModel;
import io.streamrlhf.schemas.transport.KafkaClientConfigs;
import io.streamrlhf.schemas.transport.WeightFeed;
import io.streamrlhf.schemas.transport.WeightPublisher;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Random;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.junit.jupiter.api.Test;

/**
 * A reader that joins late finds a backlog of versions on the weight topic, each spread over its
 * partitions. A fetch brings a partition's records a few versions at a time and unevenly, so read
 * as fast as each partition gives them, one partition ran ahead of the rest by more versions than
 * the assembler collects at once, every version was abandoned half-collected, and an actor that
 * joined a run mid-way never took a policy (the learner then waited on it for ever).
 */
class WeightBacklogTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(120);

  @Test
  void aLateJoinerReadsABacklogOfVersionsAndGetsTheNewest() {
    int versions = 30;
    try (var kafka = EmbeddedKafka.start()) {
      TopicProvisioner.provision(kafka.bootstrapServers(), TIMEOUT);
      try (var producer =
          new KafkaProducer<byte[], byte[]>(
              KafkaClientConfigs.producer(kafka.bootstrapServers(), "learner"))) {
        var publisher = new WeightPublisher(producer);
        for (int v = 0; v < versions; v++) {
          // the tiny policy's size, in its default chunks: 14 over the topic's 4 partitions
          publisher.publish(
              new PublishedWeights(WeightModel.POLICY, v, bytes(v), Map.of(), Instant.now()),
              TIMEOUT);
        }
      }
      try (var consumer =
              new KafkaConsumer<byte[], byte[]>(
                  KafkaClientConfigs.weightsConsumer(kafka.bootstrapServers(), "late-actor"));
          var deadLetters =
              new KafkaProducer<byte[], byte[]>(
                  KafkaClientConfigs.producer(kafka.bootstrapServers(), "late-actor-dlq"))) {
        var feed = new WeightFeed(consumer, WeightModel.POLICY, deadLetters, "late-actor");
        var got = feed.catchUp(TIMEOUT);
        assertThat(got)
            .as("abandoned half-collected: %s", feed.assembler().counts())
            .hasValueSatisfying(
                w -> {
                  assertThat(w.version()).isEqualTo(versions - 1);
                  assertThat(w.bytes()).isEqualTo(bytes(versions - 1));
                });
      }
    }
  }

  private static byte[] bytes(int v) {
    var bytes = new byte[3_442_596];
    new Random(v).nextBytes(bytes);
    return bytes;
  }
}
