package io.streamrlhf.infra.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamrlhf.schemas.AvroCodec;
import io.streamrlhf.schemas.Topics;
import io.streamrlhf.schemas.WeightChunk;
import io.streamrlhf.schemas.WeightChunker;
import io.streamrlhf.schemas.WeightModel;
import io.streamrlhf.schemas.WeightSnapshot;
import io.streamrlhf.schemas.kafka.KafkaClientConfigs;
import io.streamrlhf.schemas.kafka.WeightFeed;
import io.streamrlhf.schemas.kafka.WeightPublisher;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Test;

/**
 * Weight snapshots through a real broker. Each test uses its own model's topic or a fresh feed, and
 * every feed reads its topic from the beginning, so the tests see each other's versions only where
 * they say so.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class WeightTransportTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(60);
  private static EmbeddedKafka kafka;
  private static KafkaProducer<byte[], byte[]> producer;

  @BeforeAll
  static void startBroker() {
    kafka = EmbeddedKafka.start();
    TopicProvisioner.provision(kafka.bootstrapServers(), TIMEOUT);
    producer = new KafkaProducer<>(KafkaClientConfigs.producer(kafka.bootstrapServers(), "weights-test"));
  }

  @AfterAll
  static void stopBroker() {
    producer.close();
    kafka.close();
  }

  private static WeightSnapshot snapshot(WeightModel model, long version, int size) {
    var bytes = new byte[size];
    new Random(version * 31 + size).nextBytes(bytes);
    return new WeightSnapshot(model, version, bytes, Map.of("preset", "test"), Instant.now());
  }

  private static KafkaConsumer<byte[], byte[]> consumer(String name) {
    return new KafkaConsumer<>(KafkaClientConfigs.weightsConsumer(kafka.bootstrapServers(), name));
  }

  /** Polls the feed until it yields a version or the timeout passes. */
  private static Optional<WeightSnapshot> next(WeightFeed feed) {
    long deadline = System.nanoTime() + TIMEOUT.toNanos();
    while (System.nanoTime() < deadline) {
      var done = feed.poll(Duration.ofMillis(200));
      if (done.isPresent()) {
        return done;
      }
    }
    return Optional.empty();
  }

  @Test
  void aThreeMegabyteSnapshotArrivesWholeAndALateJoinerGetsTheNewestVersion() {
    var publisher = new WeightPublisher(producer);
    var v1 = snapshot(WeightModel.REWARD, 1, 3_000_000);
    var v2 = snapshot(WeightModel.REWARD, 2, 3_000_001);

    assertThat(publisher.publish(v1, TIMEOUT)).isEqualTo(12);
    try (var c = consumer("early")) {
      var feed = new WeightFeed(c, WeightModel.REWARD, producer, "early");
      var got = next(feed).orElseThrow();
      assertThat(got.version()).isEqualTo(1);
      assertThat(got.bytes()).isEqualTo(v1.bytes());
      assertThat(got.meta()).containsEntry("preset", "test");
    }

    publisher.publish(v2, TIMEOUT);
    try (var c = consumer("late")) {
      var feed = new WeightFeed(c, WeightModel.REWARD, producer, "late");
      var newest = feed.catchUp(TIMEOUT).orElseThrow();
      assertThat(newest.version()).isEqualTo(2);
      assertThat(newest.bytes()).isEqualTo(v2.bytes());
      assertThat(feed.assembler().counts().completed()).isEqualTo(2);
    }
  }

  @Test
  void aMissingOrCorruptedChunkNeverYieldsAVersionAndTheLastGoodOneStays() throws Exception {
    var codec = AvroCodec.of(WeightChunk.class);
    var publisher = new WeightPublisher(producer, 100_000);
    var v1 = snapshot(WeightModel.POLICY, 1, 450_000);
    publisher.publish(v1, TIMEOUT);

    // v2 loses chunk 2 on the way; v3 has one bit flipped in chunk 1.
    var torn = new ArrayList<WeightChunk>(WeightChunker.split(snapshot(WeightModel.POLICY, 2, 450_000), 100_000));
    torn.remove(2);
    var corrupted = WeightChunker.split(snapshot(WeightModel.POLICY, 3, 450_000), 100_000);
    var data = new byte[corrupted.get(1).getData().remaining()];
    corrupted.get(1).getData().duplicate().get(data);
    data[777] ^= 0x01;
    corrupted.get(1).setData(ByteBuffer.wrap(data));
    var bad = new ArrayList<>(torn);
    bad.addAll(corrupted);
    for (var chunk : bad) {
      var key = WeightChunker.key(chunk).getBytes(StandardCharsets.UTF_8);
      producer.send(new ProducerRecord<>(Topics.POLICY_WEIGHTS, key, codec.encode(chunk))).get(30, TimeUnit.SECONDS);
    }

    try (var c = consumer("actor")) {
      var feed = new WeightFeed(c, WeightModel.POLICY, producer, "actor");
      var applied = feed.catchUp(TIMEOUT);

      assertThat(applied).hasValueSatisfying(s -> {
        assertThat(s.version()).isEqualTo(1);
        assertThat(s.bytes()).isEqualTo(v1.bytes());
      });
      var counts = feed.assembler().counts();
      assertThat(counts.completed()).isEqualTo(1);
      assertThat(counts.abandoned()).isEqualTo(1); // v2, for v3
      assertThat(counts.failedVerification()).isEqualTo(1); // v3
      assertThat(feed.assembler().latestVersion()).hasValue(1);

      var v4 = snapshot(WeightModel.POLICY, 4, 450_000);
      publisher.publish(v4, TIMEOUT);
      assertThat(next(feed)).hasValueSatisfying(s -> assertThat(s.bytes()).isEqualTo(v4.bytes()));
    }
  }

  /**
   * The bench-small model's float32 snapshot (13 MB) through the broker to a subscribed reader:
   * publish (until acknowledged), then poll until the version is assembled and verified. Prints the
   * times; asserts only that the bytes arrive intact. Runs last: it adds a version to the policy
   * topic the torn-chunk test reads from the beginning.
   */
  @Test
  @Order(Integer.MAX_VALUE)
  void aThirteenMegabyteSnapshotRoundTripsThroughTheBroker() {
    var snapshot = new WeightSnapshot(WeightModel.POLICY, 100, randomBytes(13_000_000), Map.of(), Instant.now());
    try (var c = consumer("bench")) {
      var feed = new WeightFeed(c, WeightModel.POLICY, producer, "bench");
      feed.catchUp(TIMEOUT); // an actor that is already up to date

      long t0 = System.nanoTime();
      int chunks = new WeightPublisher(producer).publish(snapshot, TIMEOUT);
      long published = System.nanoTime();
      var got = next(feed);
      long done = System.nanoTime();

      assertThat(got).hasValueSatisfying(s -> {
        assertThat(s.version()).isEqualTo(100);
        assertThat(s.bytes()).isEqualTo(snapshot.bytes());
      });
      System.out.printf(
          "weight transport: 13,000,000 bytes as %d chunks: publish %d ms, then consume+assemble+verify %d ms, total %d ms%n",
          chunks, (published - t0) / 1_000_000, (done - published) / 1_000_000, (done - t0) / 1_000_000);
    }
  }

  private static byte[] randomBytes(int n) {
    var b = new byte[n];
    new Random(13).nextBytes(b);
    return b;
  }

}
