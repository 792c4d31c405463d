package io.streamrlhf.infra.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import io.streamrlhf.schemas.AvroCodec;
import io.streamrlhf.schemas.LabelRequest;
import io.streamrlhf.schemas.RecordChecks;
import io.streamrlhf.schemas.Topics;
import io.streamrlhf.schemas.transport.DecodingConsumer;
import io.streamrlhf.schemas.transport.KafkaClientConfigs;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

/**
 * A poll whose bad record cannot be dead-lettered (the dead-letter topic does not acknowledge) is
 * undone whole: the good records polled with it come again with the next poll. They were dropped
 * before, and a reader that retries (the feedback gateway's) went on past them.
 */
class DecodingConsumerTest {
  private static final Duration WAIT = Duration.ofSeconds(30);
  private static final AvroCodec<LabelRequest> CODEC = AvroCodec.of(LabelRequest.class);

  @Test
  void aPollWhoseDeadLetterIsNotAcknowledgedLosesNoGoodRecord() throws Exception {
    var partition = new TopicPartition(Topics.LABEL_REQUESTS, 0);
    try (var kafka = EmbeddedKafka.start()) {
      TopicProvisioner.provision(kafka.bootstrapServers(), WAIT);
      try (var producer =
          new KafkaProducer<byte[], byte[]>(
              KafkaClientConfigs.producer(kafka.bootstrapServers(), "test-writer"))) {
        var sent = new ArrayList<java.util.concurrent.Future<?>>();
        for (var value :
            List.of(
                CODEC.encode(request("good-1")),
                "not a record".getBytes(StandardCharsets.UTF_8),
                CODEC.encode(request("good-2")))) {
          sent.add(producer.send(new ProducerRecord<>(partition.topic(), 0, null, value)));
        }
        for (var s : sent) s.get(WAIT.toSeconds(), TimeUnit.SECONDS);
      }
      // a dead-letter producer whose broker never answers: its send fails within half a second
      var unreachable = KafkaClientConfigs.producer("127.0.0.1:1", "test-dead-letters");
      unreachable.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 500);
      try (var consumer =
              new KafkaConsumer<byte[], byte[]>(
                  KafkaClientConfigs.weightsConsumer(kafka.bootstrapServers(), "test-reader"));
          var deadLetters = new KafkaProducer<byte[], byte[]>(unreachable);
          var working =
              new KafkaProducer<byte[], byte[]>(
                  KafkaClientConfigs.producer(kafka.bootstrapServers(), "test-dead-letters-2"))) {
        consumer.assign(List.of(partition));
        consumer.seekToBeginning(List.of(partition));
        var failing =
            new DecodingConsumer<>(
                consumer, CODEC, RecordChecks.LABEL_REQUEST, deadLetters, "test", WAIT);
        var read = new ArrayList<String>();
        Throwable refused = null;
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (refused == null && System.nanoTime() < deadline) {
          try {
            failing.poll(Duration.ofMillis(200)).forEach(v -> read.add(id(v.value())));
          } catch (DecodingConsumer.DeadLetterException e) {
            refused = e;
          }
        }
        assertThat(refused).as("the dead letter was refused").isNotNull();

        var reading =
            new DecodingConsumer<>(
                consumer, CODEC, RecordChecks.LABEL_REQUEST, working, "test", WAIT);
        while (consumer.position(partition) < 3 && System.nanoTime() < deadline)
          reading.poll(Duration.ofMillis(200)).forEach(v -> read.add(id(v.value())));
        assertThat(read).containsExactly("good-1", "good-2");
        assertThat(reading.deadLettered()).isEqualTo(1);
        assertThat(catchThrowable(() -> reading.poll(Duration.ofMillis(50)))).isNull();
      }
    }
  }

  private static String id(LabelRequest r) {
    return r.getRequestId();
  }

  private static LabelRequest request(String id) {
    return LabelRequest.newBuilder()
        .setRequestId(id)
        .setPromptId("prompt-" + id)
        .setPromptText("Reverse abc.\n")
        .setResponses(List.of("cba", "abc"))
        .setPolicyVersion(0)
        .setRewardVersion(0)
        .setActorId("test")
        .setCreatedAt(Instant.now())
        .build();
  }
}
