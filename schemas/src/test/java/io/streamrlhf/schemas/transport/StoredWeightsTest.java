package io.streamrlhf.schemas.transport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamrlhf.schemas.AvroCodec;
import io.streamrlhf.schemas.PublishedWeights;
import io.streamrlhf.schemas.Topics;
import io.streamrlhf.schemas.WeightChunk;
import io.streamrlhf.schemas.WeightModel;
import io.streamrlhf.schemas.WeightStore;
import io.streamrlhf.schemas.signing.WeightSigner;
import io.streamrlhf.schemas.signing.WeightVerifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Policy bytes in a {@link WeightStore}, a signed pointer on the topic, without a broker: the
 * publisher sends one small record, a reader with the store hands out exactly the published bytes,
 * and nothing a writer of the topic or of the store changes gets applied.
 */
class StoredWeightsTest {
  private static final AvroCodec<WeightChunk> CODEC = AvroCodec.of(WeightChunk.class);
  private static final String TOPIC = Topics.POLICY_WEIGHTS;
  private static final TopicPartition PARTITION = new TopicPartition(TOPIC, 0);

  @TempDir Path dir;
  private final WeightSigner learner = WeightSigner.generate();
  private final MockProducer<byte[], byte[]> producer =
      new MockProducer<>(true, null, new ByteArraySerializer(), new ByteArraySerializer());
  private final MockConsumer<byte[], byte[]> consumer = new MockConsumer<>("earliest");
  private final List<String> rejections = new ArrayList<>();
  private long offset;

  private WeightStore store() {
    return WeightStore.at(dir.resolve("store"));
  }

  private WeightFeed feed(WeightStore store) {
    consumer.updateBeginningOffsets(Map.of(PARTITION, 0L));
    consumer.assign(List.of(PARTITION));
    return new WeightFeed(
        consumer,
        WeightModel.POLICY,
        new MockProducer<>(true, null, new ByteArraySerializer(), new ByteArraySerializer()),
        "test",
        WeightVerifier.trusting(learner.publicKey()),
        rejections::add,
        store);
  }

  private static PublishedWeights weights(long version) {
    var bytes = new byte[50_000];
    new Random(version).nextBytes(bytes);
    return new PublishedWeights(
        WeightModel.POLICY, version, bytes, Map.of("model_config", "{}"), Instant.EPOCH);
  }

  /** Publishes through the store, signed by {@code signer}; the records sent. */
  private List<ProducerRecord<byte[], byte[]>> publish(PublishedWeights w, WeightSigner signer) {
    producer.clear();
    new WeightPublisher(producer, 1000, signer, store()).publish(w, Duration.ofSeconds(5));
    return new ArrayList<>(producer.history());
  }

  private void deliver(List<ProducerRecord<byte[], byte[]>> records) {
    for (var r : records)
      consumer.addRecord(new ConsumerRecord<>(TOPIC, 0, offset++, r.key(), r.value()));
  }

  private Optional<PublishedWeights> poll(WeightFeed feed) {
    return feed.poll(Duration.ofMillis(10));
  }

  private static ProducerRecord<byte[], byte[]> withMeta(
      ProducerRecord<byte[], byte[]> record, String key, String value) {
    var chunk = CODEC.decode(record.value());
    var meta = new HashMap<>(chunk.getMeta());
    meta.put(key, value);
    chunk.setMeta(meta);
    return new ProducerRecord<>(TOPIC, 0, record.key(), CODEC.encode(chunk));
  }

  @Test
  void theTopicCarriesOneSmallSignedRecordAndTheReaderGetsTheExactBytes() {
    var feed = feed(store());
    var published = weights(1);
    var sent = publish(published, learner);

    assertThat(sent).hasSize(1); // 50 chunks of 1000 bytes without the store
    assertThat(sent.get(0).value().length).isLessThan(2_000);
    var chunk = CODEC.decode(sent.get(0).value());
    assertThat(chunk.getData().remaining()).isZero();

    deliver(sent);
    var got = poll(feed);
    assertThat(got).isPresent();
    assertThat(got.get().version()).isEqualTo(1);
    assertThat(got.get().bytes()).isEqualTo(published.bytes());
    assertThat(WeightStore.isPointer(got.get())).isFalse();
    assertThat(rejections).isEmpty();
  }

  @Test
  void aPointerRedirectedOrSignedByAnotherKeyIsRejectedAndTheNextGenuineVersionApplies()
      throws Exception {
    var feed = feed(store());
    var genuine = publish(weights(1), learner);
    var forger = WeightSigner.generate();
    var forged = publish(weights(2), forger); // the forger can write the store and the topic
    var forgedObject = CODEC.decode(forged.get(0).value()).getMeta().get(WeightStore.META_OBJECT);

    // the learner's signed pointer to v1, re-aimed at the forger's object: its signature breaks
    deliver(List.of(withMeta(genuine.get(0), WeightStore.META_OBJECT, forgedObject)));
    assertThat(poll(feed)).isEmpty();
    deliver(forged);
    assertThat(poll(feed)).isEmpty();
    assertThat(rejections).hasSize(2).allMatch(r -> r.contains("keeping the current weights"));

    var next = weights(3);
    deliver(publish(next, learner));
    assertThat(poll(feed)).map(PublishedWeights::bytes).contains(next.bytes());
  }

  @Test
  void anObjectChangedInTheStoreIsReportedNotAppliedAndTheNextVersionStillApplies()
      throws Exception {
    var feed = feed(store());
    var sent = publish(weights(1), learner);
    var object =
        store()
            .root()
            .resolve(
                CODEC
                    .decode(sent.get(0).value())
                    .getMeta()
                    .get(WeightStore.META_OBJECT)
                    .toString());
    var bytes = Files.readAllBytes(object);
    bytes[100] ^= 1;
    Files.write(object, bytes);

    deliver(sent);
    assertThat(poll(feed)).isEmpty();
    assertThat(rejections).singleElement().asString().contains("v1").contains("SHA-256");

    var next = weights(2);
    deliver(publish(next, learner));
    assertThat(poll(feed)).map(PublishedWeights::bytes).contains(next.bytes());
  }

  @Test
  void aReaderWithoutAStoreIsToldWhereTheBytesAreAndHowToReachThem() {
    var feed = feed(null);
    deliver(publish(weights(1), learner));
    assertThatThrownBy(() -> poll(feed))
        .isInstanceOf(WeightFeed.NoStoreException.class)
        .hasMessageContaining("policy v1")
        .hasMessageContaining("--weights-store DIR");
  }

  @Test
  void aForgedPointerAtAReaderWithoutAStoreIsRejectedNotFatal() {
    var feed = feed(null);
    deliver(publish(weights(1), WeightSigner.generate()));
    assertThat(poll(feed)).isEmpty();
    assertThat(rejections).singleElement().asString().contains("not by the trusted key");
  }

  @Test
  void aLateJoinersBacklogOfPrunedVersionsIsPassedOverInOneLineNotOneRejectionEach() {
    var feed = feed(store());
    var backlog = new ArrayList<ProducerRecord<byte[], byte[]>>();
    for (long v = 1; v <= 3 * WeightStore.KEPT; v++) backlog.addAll(publish(weights(v), learner));
    // the reader gets the log in two fetches; after the first, the rest is still to be read
    consumer.updateEndOffsets(Map.of(PARTITION, (long) backlog.size()));
    deliver(backlog.subList(0, WeightStore.KEPT));
    assertThat(poll(feed)).isEmpty(); // v6 was pruned long ago, and newer ones are waiting
    assertThat(rejections).isEmpty();

    deliver(backlog.subList(WeightStore.KEPT, backlog.size()));
    var newest = weights(3 * WeightStore.KEPT);
    assertThat(poll(feed)).map(PublishedWeights::bytes).contains(newest.bytes());
    assertThat(rejections)
        .singleElement()
        .asString()
        .contains("v18 read after passing over 17 older versions")
        .doesNotContain("rejected");
  }

  @Test
  void anObjectMissingWithNothingNewerInTheStoreIsReported() throws Exception {
    var feed = feed(store());
    var sent = publish(weights(1), learner);
    // not pruned for newer ones: the reader's store is another one, or the object was removed
    Files.delete(store().root().resolve(object(sent.get(0))));
    deliver(sent);
    assertThat(poll(feed)).isEmpty();
    assertThat(rejections)
        .singleElement()
        .asString()
        .contains("rejected policy v1")
        .contains("is not in the weight store");
  }

  @Test
  void whenTheNewestVersionOfAPollIsUnusableTheOneBeforeItIsHandedOut() throws Exception {
    var feed = feed(store());
    var older = weights(1);
    var both = new ArrayList<>(publish(older, learner));
    var newer = publish(weights(2), learner);
    both.addAll(newer);
    var bytes = store().root().resolve(object(newer.get(0)));
    var changed = Files.readAllBytes(bytes);
    changed[7] ^= 1;
    Files.write(bytes, changed);

    deliver(both); // one poll completes both
    assertThat(poll(feed)).map(PublishedWeights::bytes).contains(older.bytes());
    assertThat(rejections).singleElement().asString().contains("v2").contains("SHA-256");
  }

  private static String object(ProducerRecord<byte[], byte[]> pointer) {
    return CODEC.decode(pointer.value()).getMeta().get(WeightStore.META_OBJECT).toString();
  }
}
