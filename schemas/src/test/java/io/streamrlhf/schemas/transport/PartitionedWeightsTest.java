package io.streamrlhf.schemas.transport;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamrlhf.schemas.PublishedWeights;
import io.streamrlhf.schemas.Topics;
import io.streamrlhf.schemas.WeightModel;
import io.streamrlhf.schemas.signing.WeightSigner;
import io.streamrlhf.schemas.signing.WeightVerifier;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.stream.IntStream;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RoundRobinPartitioner;
import org.apache.kafka.common.Cluster;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;

/**
 * A version's chunks spread over the weight topic's partitions, without a broker: the publisher
 * puts chunk i on partition i mod P, and a reader, which sees the partitions in whatever order its
 * fetches return them, still hands out exactly the published bytes, signed, or nothing.
 */
class PartitionedWeightsTest {
  private static final String TOPIC = Topics.POLICY_WEIGHTS;
  private static final int PARTITIONS = 4;
  private static final Node NODE = new Node(0, "localhost", 9092);

  private final WeightSigner learner = WeightSigner.generate();
  private final MockProducer<byte[], byte[]> producer = producer(PARTITIONS);
  private final MockConsumer<byte[], byte[]> consumer = new MockConsumer<>("earliest");
  private final Map<Integer, Long> offsets = new HashMap<>();

  private static List<PartitionInfo> partitions(int count) {
    return IntStream.range(0, count)
        .mapToObj(p -> new PartitionInfo(TOPIC, p, NODE, new Node[] {NODE}, new Node[] {NODE}))
        .toList();
  }

  /** The partitioner is never asked: the publisher names every chunk's partition. */
  private static MockProducer<byte[], byte[]> producer(int partitions) {
    var cluster = new Cluster("c", List.of(NODE), partitions(partitions), Set.of(), Set.of());
    return new MockProducer<>(
        cluster,
        true,
        new RoundRobinPartitioner(),
        new ByteArraySerializer(),
        new ByteArraySerializer());
  }

  private WeightFeed feed() {
    consumer.updatePartitions(TOPIC, partitions(PARTITIONS));
    var beginnings = new HashMap<TopicPartition, Long>();
    for (int p = 0; p < PARTITIONS; p++) beginnings.put(new TopicPartition(TOPIC, p), 0L);
    consumer.updateBeginningOffsets(beginnings);
    return new WeightFeed(
        consumer,
        WeightModel.POLICY,
        producer(1),
        "test",
        WeightVerifier.trusting(learner.publicKey()),
        r -> {});
  }

  private static PublishedWeights weights(long version, int size) {
    var bytes = new byte[size];
    new Random(version).nextBytes(bytes);
    return new PublishedWeights(
        WeightModel.POLICY, version, bytes, Map.of("model_config", "{}"), Instant.EPOCH);
  }

  /** Publishes {@code weights} signed, in chunks of 1000 bytes, and returns what was sent. */
  private List<ProducerRecord<byte[], byte[]>> publish(PublishedWeights weights) {
    producer.clear();
    new WeightPublisher(producer, 1000, learner).publish(weights, Duration.ofSeconds(5));
    return new ArrayList<>(producer.history());
  }

  /** Hands partition {@code p}'s records of {@code sent} to the reader. */
  private void deliver(List<ProducerRecord<byte[], byte[]>> sent, int p) {
    for (var r : sent) {
      if (r.partition() != p) continue;
      long offset = offsets.merge(p, 1L, Long::sum) - 1;
      consumer.addRecord(new ConsumerRecord<>(TOPIC, p, offset, r.key(), r.value()));
    }
  }

  /**
   * Delivers the partitions one at a time, in {@code order}, polling after each (a poll of the mock
   * returns every partition it holds at once); the newest version a poll handed out.
   */
  private Optional<PublishedWeights> deliverAndPoll(
      WeightFeed feed, List<ProducerRecord<byte[], byte[]>> sent, List<Integer> order) {
    Optional<PublishedWeights> newest = Optional.empty();
    for (int p : order) {
      deliver(sent, p);
      var got = poll(feed);
      if (got.isPresent()) newest = got;
    }
    return newest;
  }

  private Optional<PublishedWeights> poll(WeightFeed feed) {
    return feed.poll(Duration.ofMillis(10));
  }

  @Test
  void chunkIGoesToPartitionIModuloThePartitionCount() {
    var sent = publish(weights(1, 9_500)); // 10 chunks
    assertThat(sent).hasSize(10);
    for (int i = 0; i < sent.size(); i++) {
      assertThat(sent.get(i).partition()).isEqualTo(i % PARTITIONS);
      assertThat(new String(sent.get(i).key())).isEqualTo("policy/" + i);
    }
  }

  @Test
  void aSinglePartitionTopicGetsEveryChunkOnPartitionZero() {
    var single = producer(1);
    new WeightPublisher(single, 1000).publish(weights(1, 3_500), Duration.ofSeconds(5));
    assertThat(single.history()).hasSize(4).allSatisfy(r -> assertThat(r.partition()).isZero());
  }

  @Test
  void chunksFromEveryPartitionInAnyOrderYieldTheExactSignedVersion() {
    var feed = feed();
    var random = new Random(7);
    for (long v = 1; v <= 5; v++) {
      var published = weights(v, 9_500 + (int) v);
      var order = new ArrayList<>(List.of(0, 1, 2, 3));
      Collections.shuffle(order, random);

      var got = deliverAndPoll(feed, publish(published), order);
      assertThat(got).as("v%d, partitions in order %s", v, order).isPresent();
      assertThat(got.get().version()).isEqualTo(v);
      assertThat(got.get().bytes()).isEqualTo(published.bytes());
    }
    assertThat(feed.assembler().counts().completed()).isEqualTo(5);
    assertThat(feed.rejectedChunks()).isZero();
  }

  @Test
  void aVersionWithAPartitionsChunksMissingIsNotHandedOutAndTheNextWholeOneIs() {
    var feed = feed();
    // partition 2's chunks of v1 never come
    assertThat(deliverAndPoll(feed, publish(weights(1, 9_500)), List.of(3, 0, 1))).isEmpty();
    assertThat(feed.assembler().latestVersion()).isEmpty();
    assertThat(feed.assembler().pending()).hasValue("v1 8/10 chunks"); // chunks 2 and 6 missing

    var v2 = weights(2, 9_500);
    assertThat(deliverAndPoll(feed, publish(v2), List.of(2, 1, 0, 3)))
        .hasValueSatisfying(w -> assertThat(w.bytes()).isEqualTo(v2.bytes()));
    assertThat(feed.assembler().counts().abandoned()).isEqualTo(1); // v1
  }

  /**
   * A late joiner's fetches take a batch or two of every partition at a time, so one partition runs
   * at most a few versions ahead of another (KafkaClientConfigs#weightsConsumer): here three, read
   * a whole partition at a time, which the assembler's three partial versions absorb.
   */
  @Test
  void aLateJoinerReadingPartitionsSeveralVersionsApartGetsEveryVersionWhole() {
    var feed = feed();
    var published = new ArrayList<PublishedWeights>();
    var sent = new ArrayList<List<ProducerRecord<byte[], byte[]>>>();
    for (long v = 1; v <= 6; v++) {
      published.add(weights(v, 9_500 + (int) v));
      sent.add(publish(published.get(published.size() - 1)));
    }
    Optional<PublishedWeights> newest = Optional.empty();
    for (int from = 0; from < 6; from += 3) {
      for (int p : List.of(2, 0, 3, 1)) {
        for (int v = from; v < from + 3; v++) deliver(sent.get(v), p);
        var got = poll(feed);
        if (got.isPresent()) newest = got;
      }
    }
    assertThat(newest).hasValueSatisfying(w -> assertThat(w.version()).isEqualTo(6));
    assertThat(newest.get().bytes()).isEqualTo(published.get(5).bytes());
    assertThat(feed.assembler().counts().completed()).isEqualTo(6);
    assertThat(feed.assembler().counts().abandoned()).isZero();
  }

  /**
   * A reader started before its broker knew the topic (a new topic's metadata arrives a moment
   * after it is created) reads partition 0 for now, and all partitions as soon as they are known:
   * it still gets every version whole, not only the chunks partition 0 holds.
   */
  @Test
  void aReaderThatStartedBeforeTheTopicWasKnownReadsEveryPartitionOnceItIs() {
    consumer.updateBeginningOffsets(Map.of(new TopicPartition(TOPIC, 0), 0L));
    var feed =
        new WeightFeed(
            consumer,
            WeightModel.POLICY,
            producer(1),
            "test",
            WeightVerifier.trusting(learner.publicKey()),
            r -> {});
    assertThat(consumer.assignment()).containsExactly(new TopicPartition(TOPIC, 0));
    var published = weights(1, 9_500);
    var sent = publish(published);
    deliver(sent, 0);
    assertThat(poll(feed)).isEmpty(); // chunks 0, 4 and 8 of 10

    consumer.updatePartitions(TOPIC, partitions(PARTITIONS));
    var beginnings = new HashMap<TopicPartition, Long>();
    for (int p = 0; p < PARTITIONS; p++) beginnings.put(new TopicPartition(TOPIC, p), 0L);
    consumer.updateBeginningOffsets(beginnings);
    assertThat(poll(feed)).isEmpty();
    assertThat(consumer.assignment()).hasSize(PARTITIONS);

    offsets.clear(); // read from the beginning again: partition 0's chunks come a second time
    var got = deliverAndPoll(feed, sent, List.of(0, 1, 2, 3));
    assertThat(got).hasValueSatisfying(w -> assertThat(w.bytes()).isEqualTo(published.bytes()));
  }
}
