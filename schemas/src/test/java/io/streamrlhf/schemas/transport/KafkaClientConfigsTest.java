package io.streamrlhf.schemas.transport;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamrlhf.schemas.AvroCodec;
import io.streamrlhf.schemas.PublishedWeights;
import io.streamrlhf.schemas.Topics;
import io.streamrlhf.schemas.WeightChunk;
import io.streamrlhf.schemas.WeightChunker;
import io.streamrlhf.schemas.WeightModel;
import java.time.Instant;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.junit.jupiter.api.Test;

class KafkaClientConfigsTest {

  @Test
  void producersAreIdempotentAndWaitForAllReplicas() {
    var c = KafkaClientConfigs.producer("h:1", "learner");

    assertThat(c)
        .containsEntry(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true)
        .containsEntry(ProducerConfig.ACKS_CONFIG, "all");
  }

  @Test
  void aDeadGroupMemberLosesItsPartitionsAfterSecondsWithinWhatAStockBrokerAccepts() {
    var c = KafkaClientConfigs.groupConsumer("h:1", "g", "c");

    int session = (Integer) c.get(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG);
    int heartbeat = (Integer) c.get(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG);
    assertThat(session)
        .as("Kafka's default is 45 s; a broker refuses less than group.min.session.timeout.ms")
        .isLessThan(45_000)
        .isGreaterThanOrEqualTo(6_000);
    assertThat(heartbeat).isLessThanOrEqualTo(session / 3);
    assertThat(c).doesNotContainKey(ConsumerConfig.GROUP_PROTOCOL_CONFIG); // classic
  }

  @Test
  void theLargestAllowedChunkFitsTheProducerRequestAndEveryConsumerFetch() {
    var snapshot =
        new PublishedWeights(
            WeightModel.POLICY,
            1,
            new byte[WeightChunker.MAX_CHUNK_BYTES],
            Map.of("preset", "bench-small"),
            Instant.EPOCH);
    var chunk = WeightChunker.split(snapshot, WeightChunker.MAX_CHUNK_BYTES).get(0);
    int encoded = AvroCodec.of(WeightChunk.class).encode(chunk).length;
    int key = WeightChunker.key(chunk).length();
    int batchOverhead = 61 + 21; // Kafka record batch header + one record's varint framing, at most

    int request =
        (Integer)
            KafkaClientConfigs.producer("h:1", "p").get(ProducerConfig.MAX_REQUEST_SIZE_CONFIG);
    assertThat(encoded + key + batchOverhead)
        .isLessThanOrEqualTo(request)
        .isLessThanOrEqualTo(Topics.MAX_RECORD_BYTES + 12);
    for (var consumer :
        new Map<?, ?>[] {
          KafkaClientConfigs.groupConsumer("h:1", "g", "c"),
          KafkaClientConfigs.weightsConsumer("h:1", "c")
        }) {
      // a whole batch of the largest size the topics allow, from every partition of a fetch
      assertThat((Integer) consumer.get(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG))
          .isGreaterThanOrEqualTo(Topics.MAX_RECORD_BYTES + 12);
    }
  }
}
