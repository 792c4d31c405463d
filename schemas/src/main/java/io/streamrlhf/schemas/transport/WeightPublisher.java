package io.streamrlhf.schemas.transport;

import io.streamrlhf.schemas.AvroCodec;
import io.streamrlhf.schemas.PublishedWeights;
import io.streamrlhf.schemas.Topics;
import io.streamrlhf.schemas.WeightChunk;
import io.streamrlhf.schemas.WeightChunker;
import io.streamrlhf.schemas.WeightStore;
import io.streamrlhf.schemas.signing.WeightSigner;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.concurrent.Future;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;

/**
 * Publishes weight snapshots as chunks to the model's weight topic ({@link Topics#weights}), chunk
 * i on partition i mod the topic's partition count, all sent before the first acknowledgement is
 * awaited. The producer should be idempotent ({@link KafkaClientConfigs#producer}): then a retry
 * neither duplicates nor reorders chunks within a partition. With a {@link WeightSigner} every
 * version is signed first, so readers that trust its key can tell it from anyone else's. With a
 * {@link WeightStore} the bytes go to the store and the topic carries only the signed pointer to
 * them. Borrows the producer; the caller owns and closes it.
 */
public final class WeightPublisher {
  private static final AvroCodec<WeightChunk> CODEC = AvroCodec.of(WeightChunk.class);

  private final Producer<byte[], byte[]> producer;
  private final int chunkBytes;
  private final WeightSigner signer;
  private final WeightStore store;

  /** Publishes unsigned versions (readers that check signatures ignore them). */
  public WeightPublisher(Producer<byte[], byte[]> producer) {
    this(producer, WeightChunker.DEFAULT_CHUNK_BYTES, null);
  }

  /** Publishes unsigned versions in chunks of {@code chunkBytes}. */
  public WeightPublisher(Producer<byte[], byte[]> producer, int chunkBytes) {
    this(producer, chunkBytes, null);
  }

  /** Signs every version with {@code signer} before it is sent. */
  public WeightPublisher(Producer<byte[], byte[]> producer, WeightSigner signer) {
    this(producer, WeightChunker.DEFAULT_CHUNK_BYTES, signer);
  }

  /**
   * @param signer signs every version; null publishes them unsigned
   */
  public WeightPublisher(Producer<byte[], byte[]> producer, int chunkBytes, WeightSigner signer) {
    this(producer, chunkBytes, signer, null);
  }

  /**
   * @param signer signs every version (with a store: the pointer, whose meta names the bytes'
   *     SHA-256); null publishes them unsigned
   * @param store where the bytes go, the topic carrying only a pointer to them; null: on the topic
   */
  public WeightPublisher(
      Producer<byte[], byte[]> producer, int chunkBytes, WeightSigner signer, WeightStore store) {
    this.producer = producer;
    this.chunkBytes = chunkBytes;
    this.signer = signer;
    this.store = store;
  }

  /** Signs every version with {@code signer} and writes its bytes to {@code store}. */
  public WeightPublisher(
      Producer<byte[], byte[]> producer, WeightSigner signer, WeightStore store) {
    this(producer, WeightChunker.DEFAULT_CHUNK_BYTES, signer, store);
  }

  /**
   * Sends every chunk of the snapshot and waits until the broker acknowledged all of them.
   *
   * @return the number of chunks written
   * @throws WeightPublishException when not all chunks are acknowledged within the timeout
   */
  public int publish(PublishedWeights snapshot, Duration timeout) {
    return publish(snapshot, null, timeout);
  }

  /**
   * As {@link #publish(PublishedWeights, Duration)} with the SHA-256 of the bytes already computed
   * (a learner's checkpoint hashed the same bytes); null computes it. A wrong hash is not caught
   * here: every reader's assembler refuses the version.
   */
  public int publish(PublishedWeights snapshot, byte[] knownSha256, Duration timeout) {
    long t0 = System.nanoTime();
    // one pass over the bytes for the signature and the chunks' headers alike
    var sha256 = knownSha256 != null ? knownSha256.clone() : WeightChunker.sha256(snapshot.bytes());
    long hashed = System.nanoTime();
    if (store != null) {
      snapshot = store.put(snapshot, sha256); // the pointer travels; its meta names the SHA-256
      sha256 = WeightChunker.sha256(snapshot.bytes());
    }
    long stored = System.nanoTime();
    if (signer != null) snapshot = signer.sign(snapshot, sha256);
    long t1 = System.nanoTime();
    var topic = Topics.weights(snapshot.model());
    var chunks = WeightChunker.split(snapshot, chunkBytes, sha256);
    long t2 = System.nanoTime();
    int partitions = Math.max(1, producer.partitionsFor(topic).size());
    var acks = new ArrayList<Future<RecordMetadata>>();
    for (var chunk : chunks) {
      var key = WeightChunker.key(chunk).getBytes(StandardCharsets.UTF_8);
      // the chunk's bytes plus room for its header fields and meta (model config JSON)
      int expected = chunk.getData().remaining() + 4096;
      // chunk i always on partition i mod P: compaction (per key) keeps working, and one produce
      // request carries a batch of every partition instead of one record limit's worth
      int partition = chunk.getChunkIndex() % partitions;
      acks.add(
          producer.send(
              new ProducerRecord<>(topic, partition, key, CODEC.encode(chunk, expected))));
    }
    long sent = System.nanoTime();
    producer.flush();
    long t3 = System.nanoTime();
    // named by model and version: the snapshot's meta (model config, signature) is no message
    Acks.await(
        acks,
        timeout,
        snapshot.model() + " v" + snapshot.version() + " on " + topic,
        WeightPublishException::new);
    long t4 = System.nanoTime();
    last =
        new Timing(
            ms(t1 - stored),
            ms(hashed - t0) + ms(t2 - t1),
            ms(stored - hashed),
            ms(sent - t2),
            ms(t3 - sent),
            ms(t4 - t3),
            acks.size());
    return acks.size();
  }

  /**
   * Where the last {@link #publish} went: signing (Ed25519), chunking (with the SHA-256 all chunks
   * carry and the signature covers), writing the bytes to the store (0 without one), encoding and
   * sending every chunk until the producer flushed them, and waiting for the broker's
   * acknowledgements. For benchmarks; null before the first publish.
   */
  public record Timing(
      double signMs,
      double chunkMs,
      double storeMs,
      double sendMs,
      double flushMs,
      double ackMs,
      int chunks) {}

  private volatile Timing last;

  public Timing lastTiming() {
    return last;
  }

  private static double ms(long nanos) {
    return nanos / 1e6;
  }

  public static final class WeightPublishException extends RuntimeException {
    public WeightPublishException(String message, Throwable cause) {
      super(message, cause);
    }
  }
}
