package io.streamrlhf.schemas.transport;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamrlhf.schemas.AvroCodec;
import io.streamrlhf.schemas.PublishedWeights;
import io.streamrlhf.schemas.Topics;
import io.streamrlhf.schemas.WeightChunk;
import io.streamrlhf.schemas.WeightChunker;
import io.streamrlhf.schemas.WeightModel;
import io.streamrlhf.schemas.signing.WeightSigner;
import io.streamrlhf.schemas.signing.WeightVerifier;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;

/** The feed's signature gate, on the reward-model topic, without a broker. */
class WeightFeedTest {
  private static final AvroCodec<WeightChunk> CODEC = AvroCodec.of(WeightChunk.class);
  private static final TopicPartition PARTITION = new TopicPartition(Topics.REWARD_WEIGHTS, 0);

  private final MockConsumer<byte[], byte[]> consumer = new MockConsumer<>("earliest");
  private final List<String> rejections = new ArrayList<>();
  private long offset;

  private WeightFeed feed(WeightVerifier verifier) {
    consumer.updateBeginningOffsets(Map.of(PARTITION, 0L));
    return new WeightFeed(
        consumer,
        WeightModel.REWARD,
        new MockProducer<>(true, null, new ByteArraySerializer(), new ByteArraySerializer()),
        "test",
        verifier,
        rejections::add);
  }

  private void send(PublishedWeights weights) {
    for (var chunk : WeightChunker.split(weights, 1000)) deliver(chunk);
  }

  private void deliver(WeightChunk chunk) {
    consumer.addRecord(
        new ConsumerRecord<>(
            Topics.REWARD_WEIGHTS,
            0,
            offset++,
            WeightChunker.key(chunk).getBytes(StandardCharsets.UTF_8),
            CODEC.encode(chunk)));
  }

  private static PublishedWeights weights(long version) {
    var bytes = new byte[3500];
    new Random(version).nextBytes(bytes);
    return new PublishedWeights(
        WeightModel.REWARD, version, bytes, Map.of("reward_mean", "0.5"), Instant.EPOCH);
  }

  private Optional<PublishedWeights> poll(WeightFeed feed) {
    return feed.poll(Duration.ofMillis(10));
  }

  @Test
  void aForgedVersionNeverReachesTheAssemblerSoTheNextGenuineOneStillApplies() {
    var trainer = WeightSigner.generate();
    var forger = WeightSigner.generate();
    var feed = feed(WeightVerifier.trusting(trainer.publicKey()));

    send(trainer.sign(weights(1)));
    assertThat(poll(feed)).map(PublishedWeights::version).contains(1L);
    send(forger.sign(weights(Long.MAX_VALUE)));
    send(weights(2)); // unsigned
    assertThat(poll(feed)).isEmpty();
    send(trainer.sign(weights(3)));

    assertThat(poll(feed)).map(PublishedWeights::version).contains(3L);
    assertThat(rejections)
        .hasSize(2) // once per version, not once per chunk
        .satisfiesExactly(
            first ->
                assertThat(first)
                    .startsWith("rejected reward v" + Long.MAX_VALUE + " on rlhf.reward-weights: ")
                    .contains("signed by key " + forger.keyId()),
            second -> assertThat(second).startsWith("rejected reward v2 ").contains("unsigned"));
    assertThat(feed.rejectedChunks()).isEqualTo(8); // 4 chunks each
    assertThat(feed.assembler().latestVersion()).hasValue(3);
  }

  @Test
  void twoRejectedVersionsWhoseChunksInterleaveAreEachReportedOnce() {
    var trainer = WeightSigner.generate();
    var feed = feed(WeightVerifier.trusting(trainer.publicKey()));
    // as a poll returns them when both versions' chunks are spread over two partitions
    var unsigned = WeightChunker.split(weights(2), 1000);
    var forged = WeightChunker.split(WeightSigner.generate().sign(weights(Long.MAX_VALUE)), 1000);
    for (int half = 0; half < 2; half++) {
      for (int i = half; i < unsigned.size(); i += 2) deliver(unsigned.get(i));
      for (int i = half; i < forged.size(); i += 2) deliver(forged.get(i));
    }

    assertThat(poll(feed)).isEmpty();
    assertThat(rejections)
        .satisfiesExactly(
            first -> assertThat(first).startsWith("rejected reward v2 ").contains("unsigned"),
            second -> assertThat(second).startsWith("rejected reward v" + Long.MAX_VALUE + " "));
    assertThat(feed.rejectedChunks()).isEqualTo(8);
  }

  @Test
  void withoutAKeyEveryWholeVersionIsHandedOutAsBefore() {
    var feed = feed(WeightVerifier.acceptingUnsigned());

    send(weights(1));
    send(WeightSigner.generate().sign(weights(2)));

    assertThat(poll(feed)).map(PublishedWeights::version).contains(2L);
    assertThat(rejections).isEmpty();
  }
}
