package io.streamrlhf.infra.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamrlhf.schemas.AvroCodec;
import io.streamrlhf.schemas.DeadLetter;
import io.streamrlhf.schemas.Prompt;
import io.streamrlhf.schemas.Rollout;
import io.streamrlhf.schemas.Topics;
import io.streamrlhf.schemas.kafka.DeadLetters;
import io.streamrlhf.schemas.kafka.DecodingConsumer;
import io.streamrlhf.schemas.kafka.KafkaClientConfigs;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

class DeadLetterRoutingTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(60);
  private static final int RECORDS = 500;

  /** Five kinds of undecodable value: 1% of 500 records. */
  private static List<byte[]> undecodable(AvroCodec<Prompt> prompts) {
    var random = new Random(5);
    var noise = new byte[64];
    random.nextBytes(noise);
    var good = prompts.encode(new Prompt("p-x", "hello\n", Instant.EPOCH));
    var unknownWriter = good.clone();
    for (int i = 2; i < 10; i++) {
      unknownWriter[i] ^= (byte) 0x5A; // a fingerprint no reader knows
    }
    var rollout = AvroCodec.of(Rollout.class).encode(
        Rollout.newBuilder()
            .setRolloutId("r").setPromptId("p").setPromptTokens(List.of(1)).setResponseTokens(List.of(2))
            .setBehaviourLogProbs(List.of(-1f)).setRefLogProbs(List.of(-1f)).setRmScore(0f).setPolicyVersion(0)
            .setActorId("a").setTerminated(true).setStartedAt(Instant.EPOCH).setProducedAt(Instant.EPOCH).build());
    return List.of(noise, Arrays.copyOf(good, good.length - 2), unknownWriter, rollout, new byte[0]);
  }

  @Test
  void everyUndecodableRecordLandsInTheDeadLetterTopicAndTheRestAreConsumed() throws Exception {
    var prompts = AvroCodec.of(Prompt.class);
    var bad = undecodable(prompts);
    try (var kafka = EmbeddedKafka.start()) {
      TopicProvisioner.provision(kafka.bootstrapServers(), TIMEOUT);
      var bootstrap = kafka.bootstrapServers();
      var expectedIds = new HashSet<String>();
      var badAt = new HashMap<String, byte[]>(); // "partition/offset" -> raw value
      try (var producer = new KafkaProducer<byte[], byte[]>(KafkaClientConfigs.producer(bootstrap, "prompt-source"))) {
        var sent = new ArrayList<Future<RecordMetadata>>();
        var values = new ArrayList<byte[]>();
        for (int i = 0; i < RECORDS; i++) {
          byte[] value;
          if (i % 100 == 37) {
            value = bad.get(i / 100);
          } else {
            var id = "p-" + i;
            expectedIds.add(id);
            value = prompts.encode(new Prompt(id, "Task " + i + "\n", Instant.ofEpochMilli(i)));
          }
          values.add(value);
          sent.add(producer.send(new ProducerRecord<>(Topics.PROMPTS, ("k" + i).getBytes(StandardCharsets.UTF_8), value)));
        }
        for (int i = 0; i < RECORDS; i++) {
          var meta = sent.get(i).get(30, TimeUnit.SECONDS);
          if (i % 100 == 37) {
            badAt.put(meta.partition() + "/" + meta.offset(), values.get(i));
          }
        }
      }

      var consumedIds = new ArrayList<String>();
      try (var consumer = new KafkaConsumer<byte[], byte[]>(KafkaClientConfigs.groupConsumer(bootstrap, "actors", "actor-1"));
          var dlq = new KafkaProducer<byte[], byte[]>(KafkaClientConfigs.producer(bootstrap, "actor-1-dlq"))) {
        consumer.subscribe(List.of(Topics.PROMPTS));
        System.out.println("DBG subscribe " + System.currentTimeMillis());
        var decoding = new DecodingConsumer<>(consumer, prompts, dlq, "actor-1", TIMEOUT);
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (decoding.decoded() + decoding.deadLettered() < RECORDS && System.nanoTime() < deadline) {
          decoding.poll(Duration.ofMillis(200)).forEach(v -> consumedIds.add(v.value().getPromptId()));
          consumer.commitSync();
        }
        System.out.println("DBG consumed " + System.currentTimeMillis());
        assertThat(decoding.deadLettered()).isEqualTo(bad.size());
      }
      assertThat(consumedIds).hasSize(RECORDS - bad.size()).containsExactlyInAnyOrderElementsOf(expectedIds);

      var letters = readDeadLetters(bootstrap, bad.size());
      assertThat(letters).hasSize(bad.size());
      for (var letter : letters) {
        assertThat(letter.getTopic()).isEqualTo(Topics.PROMPTS);
        assertThat(letter.getConsumer()).isEqualTo("actor-1");
        assertThat(letter.getError()).contains("UndecodableRecordException");
        var raw = badAt.remove(letter.getPartition() + "/" + letter.getOffset());
        assertThat(raw).as("a dead letter for a record that was bad").isNotNull();
        assertThat(letter.getValue()).isEqualTo(ByteBuffer.wrap(raw));
      }
      assertThat(badAt).as("bad records without a dead letter").isEmpty();
    }
  }

  private static List<DeadLetter> readDeadLetters(String bootstrap, int expected) {
    var letters = new ArrayList<DeadLetter>();
    try (var consumer = new KafkaConsumer<byte[], byte[]>(KafkaClientConfigs.weightsConsumer(bootstrap, "dlq-reader"))) {
      var partition = new TopicPartition(Topics.DEAD_LETTER, 0);
      consumer.assign(List.of(partition));
      consumer.seekToBeginning(List.of(partition));
      long end = consumer.endOffsets(List.of(partition)).get(partition);
      long deadline = System.nanoTime() + TIMEOUT.toNanos();
      while (consumer.position(partition) < end && System.nanoTime() < deadline) {
        consumer.poll(Duration.ofMillis(200)).forEach(r -> letters.add(DeadLetters.codec().decode(r.value())));
      }
      assertThat(end).isEqualTo(expected);
    }
    return letters;
  }
}
