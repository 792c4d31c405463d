package io.streamrlhf.infra.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamrlhf.schemas.AvroCodec;
import io.streamrlhf.schemas.DeadLetter;
import io.streamrlhf.schemas.Prompt;
import io.streamrlhf.schemas.PublishedWeights;
import io.streamrlhf.schemas.RecordChecks;
import io.streamrlhf.schemas.Rollout;
import io.streamrlhf.schemas.Topics;
import io.streamrlhf.schemas.WeightChunk;
import io.streamrlhf.schemas.WeightChunker;
import io.streamrlhf.schemas.WeightModel;
import io.streamrlhf.schemas.transport.DeadLetters;
import io.streamrlhf.schemas.transport.DecodingConsumer;
import io.streamrlhf.schemas.transport.KafkaClientConfigs;
import io.streamrlhf.schemas.transport.WeightFeed;
import io.streamrlhf.schemas.transport.WeightPublisher;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

/**
 * What the loop needs from any Kafka broker, checked against a real one: weight snapshots arrive
 * whole or not at all, a late joiner gets the newest version, and undecodable records end in the
 * dead-letter topic while the rest are consumed. Subclasses say which broker: the embedded one
 * ({@link EmbeddedBrokerTransportTest}) or a container ({@link ContainerBrokerTransportTest}).
 *
 * <p>One broker serves the whole class. The weight tests use different models' topics, the
 * dead-letter test the prompts topic; the 13 MB test runs last because it adds a version to the
 * policy topic that the torn-chunk test reads from the beginning.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
abstract class BrokerTransportContract {
  static final Duration TIMEOUT = Duration.ofSeconds(60);
  private static final int RECORDS = 500;
  private String bootstrap;
  private KafkaProducer<byte[], byte[]> producer;

  /** Starts the broker under test and returns its bootstrap address. */
  abstract String startBroker();

  abstract void stopBroker();

  @BeforeAll
  void setUp() {
    bootstrap = startBroker();
    // provisioning creates the reward model's weight topic too (the reward trainer publishes
    // there): the weight tests use it as a second weight topic
    TopicProvisioner.provision(bootstrap, TIMEOUT);
    producer = new KafkaProducer<>(KafkaClientConfigs.producer(bootstrap, "contract-test"));
  }

  @AfterAll
  void tearDown() {
    if (producer != null) {
      producer.close();
    }
    stopBroker();
  }

  private static PublishedWeights snapshot(WeightModel model, long version, int size) {
    var bytes = new byte[size];
    new Random(version * 31 + size).nextBytes(bytes);
    return new PublishedWeights(model, version, bytes, Map.of("preset", "test"), Instant.now());
  }

  private KafkaConsumer<byte[], byte[]> consumer(String name) {
    return new KafkaConsumer<>(KafkaClientConfigs.weightsConsumer(bootstrap, name));
  }

  /** Polls the feed until it yields a version or the timeout passes. */
  private static Optional<PublishedWeights> next(WeightFeed feed) {
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

    // v2 travels in the largest chunks allowed: the broker's record limit must admit them.
    assertThat(new WeightPublisher(producer, WeightChunker.MAX_CHUNK_BYTES).publish(v2, TIMEOUT))
        .isEqualTo(3);
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
    var torn =
        new ArrayList<WeightChunk>(
            WeightChunker.split(snapshot(WeightModel.POLICY, 2, 450_000), 100_000));
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
      producer
          .send(new ProducerRecord<>(Topics.POLICY_WEIGHTS, key, codec.encode(chunk)))
          .get(30, TimeUnit.SECONDS);
    }

    try (var c = consumer("actor")) {
      var feed = new WeightFeed(c, WeightModel.POLICY, producer, "actor");
      var applied = feed.catchUp(TIMEOUT);

      assertThat(applied)
          .hasValueSatisfying(
              s -> {
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
    var snapshot =
        new PublishedWeights(
            WeightModel.POLICY, 100, randomBytes(13_000_000), Map.of(), Instant.now());
    try (var c = consumer("bench")) {
      var feed = new WeightFeed(c, WeightModel.POLICY, producer, "bench");
      feed.catchUp(TIMEOUT); // an actor that is already up to date

      long t0 = System.nanoTime();
      int chunks = new WeightPublisher(producer).publish(snapshot, TIMEOUT);
      long published = System.nanoTime();
      var got = next(feed);
      long done = System.nanoTime();

      assertThat(got)
          .hasValueSatisfying(
              s -> {
                assertThat(s.version()).isEqualTo(100);
                assertThat(s.bytes()).isEqualTo(snapshot.bytes());
              });
      System.out.printf(
          "weight transport: 13,000,000 bytes as %d chunks: publish %d ms, then consume+assemble+verify %d ms, total %d ms%n",
          chunks,
          (published - t0) / 1_000_000,
          (done - published) / 1_000_000,
          (done - t0) / 1_000_000);
    }
  }

  private static byte[] randomBytes(int n) {
    var b = new byte[n];
    new Random(13).nextBytes(b);
    return b;
  }

  /** Five kinds of undecodable value: 1% of 500 records. */
  private static List<byte[]> undecodable(AvroCodec<Prompt> prompts) {
    var random = new Random(5);
    var noise = new byte[64];
    random.nextBytes(noise);
    var good = prompts.encode(new Prompt("p-x", "hello\n", Instant.EPOCH, 0L, 0L));
    var unknownWriter = good.clone();
    for (int i = 2; i < 10; i++) {
      unknownWriter[i] ^= (byte) 0x5A; // a fingerprint no reader knows
    }
    var rollout =
        AvroCodec.of(Rollout.class)
            .encode(
                Rollout.newBuilder()
                    .setRolloutId("r")
                    .setPromptId("p")
                    .setPromptTokens(List.of(1))
                    .setResponseTokens(List.of(2))
                    .setBehaviourLogProbs(List.of(-1f))
                    .setRefLogProbs(List.of(-1f))
                    .setRmScore(0f)
                    .setPolicyVersion(0)
                    .setActorId("a")
                    .setTerminated(true)
                    .setStartedAt(Instant.EPOCH)
                    .setProducedAt(Instant.EPOCH)
                    .build());
    return List.of(
        noise, Arrays.copyOf(good, good.length - 2), unknownWriter, rollout, new byte[0]);
  }

  @Test
  void everyUndecodableRecordLandsInTheDeadLetterTopicAndTheRestAreConsumed() throws Exception {
    var prompts = AvroCodec.of(Prompt.class);
    var bad = undecodable(prompts);
    var expectedIds = new HashSet<String>();
    var values = new ArrayList<byte[]>();
    var sent = new ArrayList<Future<RecordMetadata>>();
    for (int i = 0; i < RECORDS; i++) {
      byte[] value;
      if (i % 100 == 37) {
        value = bad.get(i / 100);
      } else {
        expectedIds.add("p-" + i);
        value =
            prompts.encode(
                new Prompt("p-" + i, "Task " + i + "\n", Instant.ofEpochMilli(i), 0L, 0L));
      }
      values.add(value);
      sent.add(
          producer.send(
              new ProducerRecord<>(
                  Topics.PROMPTS, ("k" + i).getBytes(StandardCharsets.UTF_8), value)));
    }
    var badAt = new HashMap<String, byte[]>(); // "partition/offset" -> raw value
    for (int i = 0; i < RECORDS; i++) {
      var meta = sent.get(i).get(30, TimeUnit.SECONDS);
      if (i % 100 == 37) {
        badAt.put(meta.partition() + "/" + meta.offset(), values.get(i));
      }
    }

    var consumedIds = new ArrayList<String>();
    try (var consumer =
            new KafkaConsumer<byte[], byte[]>(
                KafkaClientConfigs.groupConsumer(bootstrap, "actors", "actor-1"));
        var dlq =
            new KafkaProducer<byte[], byte[]>(
                KafkaClientConfigs.producer(bootstrap, "actor-1-dlq"))) {
      consumer.subscribe(List.of(Topics.PROMPTS));
      var decoding =
          new DecodingConsumer<>(consumer, prompts, RecordChecks.PROMPT, dlq, "actor-1", TIMEOUT);
      long deadline = System.nanoTime() + TIMEOUT.toNanos();
      while (decoding.decoded() + decoding.deadLettered() < RECORDS
          && System.nanoTime() < deadline) {
        decoding
            .poll(Duration.ofMillis(200))
            .forEach(v -> consumedIds.add(v.value().getPromptId()));
        consumer.commitSync();
      }
      assertThat(decoding.deadLettered()).isEqualTo(bad.size());
    }
    assertThat(consumedIds)
        .hasSize(RECORDS - bad.size())
        .containsExactlyInAnyOrderElementsOf(expectedIds);

    var letters = readDeadLetters(bad.size());
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

  private List<DeadLetter> readDeadLetters(int expected) {
    var letters = new ArrayList<DeadLetter>();
    try (var consumer =
        new KafkaConsumer<byte[], byte[]>(
            KafkaClientConfigs.weightsConsumer(bootstrap, "dlq-reader"))) {
      var partition = new TopicPartition(Topics.DEAD_LETTER, 0);
      consumer.assign(List.of(partition));
      consumer.seekToBeginning(List.of(partition));
      long end = consumer.endOffsets(List.of(partition)).get(partition);
      long deadline = System.nanoTime() + TIMEOUT.toNanos();
      while (consumer.position(partition) < end && System.nanoTime() < deadline) {
        consumer
            .poll(Duration.ofMillis(200))
            .forEach(r -> letters.add(DeadLetters.codec().decode(r.value())));
      }
      assertThat(end).isEqualTo(expected);
    }
    return letters;
  }
}
