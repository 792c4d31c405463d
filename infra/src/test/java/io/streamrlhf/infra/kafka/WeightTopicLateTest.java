package io.streamrlhf.infra.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamrlhf.schemas.PublishedWeights;
import io.streamrlhf.schemas.Topics;
import io.streamrlhf.schemas.WeightModel;
import io.streamrlhf.schemas.transport.KafkaClientConfigs;
import io.streamrlhf.schemas.transport.WeightFeed;
import io.streamrlhf.schemas.transport.WeightPublisher;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

/**
 * A reader started before the weight topic exists (an actor that comes up before anything has
 * created the loop's topics) on a real broker, which creates no topic a client asks for: the reader
 * waits on partition 0 and, once the topic is created with its partitions, reads all of them and
 * gets a version whose chunks are spread over every partition, whole.
 */
class WeightTopicLateTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(60);

  @Test
  void aReaderStartedBeforeTheTopicExistsReadsEveryPartitionOnceItDoes() {
    try (var kafka = EmbeddedKafka.start();
        var consumer =
            new KafkaConsumer<byte[], byte[]>(
                KafkaClientConfigs.weightsConsumer(kafka.bootstrapServers(), "early-actor"));
        var deadLetters =
            new KafkaProducer<byte[], byte[]>(
                KafkaClientConfigs.producer(kafka.bootstrapServers(), "early-actor-dlq"))) {
      var feed = new WeightFeed(consumer, WeightModel.POLICY, deadLetters, "early-actor");
      assertThat(feed.poll(Duration.ofMillis(500))).as("no topic, nothing to read").isEmpty();
      assertThat(consumer.assignment())
          .as("read on partition 0 for now")
          .containsExactly(new TopicPartition(Topics.POLICY_WEIGHTS, 0));

      TopicProvisioner.provision(kafka.bootstrapServers(), TIMEOUT);
      var published = new PublishedWeights(WeightModel.POLICY, 0, bytes(), Map.of(), Instant.now());
      try (var producer =
          new KafkaProducer<byte[], byte[]>(
              KafkaClientConfigs.producer(kafka.bootstrapServers(), "learner"))) {
        new WeightPublisher(producer).publish(published, TIMEOUT);
        int partitions = producer.partitionsFor(Topics.POLICY_WEIGHTS).size();
        assertThat(partitions).as("the version's chunks spread over several").isGreaterThan(1);

        Optional<PublishedWeights> got = Optional.empty();
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (got.isEmpty() && System.nanoTime() < deadline) {
          got = feed.poll(Duration.ofMillis(200));
        }
        assertThat(got)
            .as("abandoned half-collected: %s", feed.assembler().counts())
            .hasValueSatisfying(w -> assertThat(w.bytes()).isEqualTo(published.bytes()));
        assertThat(consumer.assignment()).hasSize(partitions);
      }
    }
  }

  /** The tiny policy's size: 14 chunks of the default size over the topic's partitions. */
  private static byte[] bytes() {
    var bytes = new byte[3_442_596];
    new Random(7).nextBytes(bytes);
    return bytes;
  }
}
