package io.streamrlhf.infra.chaos;

import io.streamrlhf.schemas.AvroCodec;
import io.streamrlhf.schemas.PublishedWeights;
import io.streamrlhf.schemas.Topics;
import io.streamrlhf.schemas.WeightChunk;
import io.streamrlhf.schemas.WeightChunker;
import io.streamrlhf.schemas.WeightModel;
import io.streamrlhf.schemas.transport.KafkaClientConfigs;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;

/**
 * A writer on the policy-weights topic that is not the learner: each time a version of the
 * learner's is whole on the topic, it publishes mangled copies of it (chunks duplicated, reordered,
 * corrupted, dropped; re-cut into four chunks so there is an order to break) and one forged version
 * ahead of the learner's, a different kind each time: the next version corrupted, torn (a chunk
 * missing), or whole and valid but replayed from the current one with its chunks reordered and
 * duplicated; version {@link Long#MAX_VALUE}; and a partial version far ahead. The forged versions
 * copy the real version's meta, so a signature there does not vouch for them.
 */
final class ChunkInterposer implements AutoCloseable {
  static final List<String> FORGED =
      List.of(
          "next version corrupted",
          "next version torn (a chunk dropped)",
          "next version replayed, chunks reordered and duplicated",
          "version Long.MAX_VALUE",
          "version far ahead, partial");

  private static final AvroCodec<WeightChunk> CHUNKS = AvroCodec.of(WeightChunk.class);

  private final KafkaProducer<byte[], byte[]> producer;
  private final Tap tap;
  private final Map<Long, WeightChunk[]> collecting = new HashMap<>();
  private final Map<String, Long> faults = Collections.synchronizedMap(new HashMap<>());
  private final List<Long> forgedVersions = Collections.synchronizedList(new ArrayList<>());
  private int completed;

  ChunkInterposer(String bootstrap) {
    producer = new KafkaProducer<>(KafkaClientConfigs.producer(bootstrap, "chaos-interposer"));
    tap = new Tap(bootstrap, "interposer", List.of(Topics.POLICY_WEIGHTS), this::onRecord);
  }

  Map<String, Long> faults() {
    synchronized (faults) {
      return Map.copyOf(faults);
    }
  }

  /** Every version number the interposer forged (none of them the learner's). */
  List<Long> forgedVersions() {
    synchronized (forgedVersions) {
      return List.copyOf(forgedVersions);
    }
  }

  Throwable failure() {
    return tap.failure();
  }

  private void onRecord(ConsumerRecord<byte[], byte[]> record) {
    if (Tap.injected(record)) return;
    var chunk = CHUNKS.decode(record.value());
    var chunks =
        collecting.computeIfAbsent(chunk.getVersion(), v -> new WeightChunk[chunk.getChunkCount()]);
    if (chunk.getChunkIndex() >= chunks.length) return;
    chunks[chunk.getChunkIndex()] = chunk;
    for (var c : chunks) if (c == null) return;
    collecting.remove(chunk.getVersion());
    mangle(chunks);
  }

  /** One forged version, then mangled copies of a whole real version. */
  private void mangle(WeightChunk[] real) {
    long v = real[0].getVersion();
    var bytes = new ByteArrayOutputStream();
    for (var c : real) bytes.writeBytes(remaining(c.getData()));
    var whole =
        new PublishedWeights(
            WeightModel.POLICY,
            v,
            bytes.toByteArray(),
            real[0].getMeta().entrySet().stream()
                .collect(
                    java.util.stream.Collectors.toMap(
                        e -> e.getKey().toString(), e -> e.getValue().toString())),
            java.time.Instant.ofEpochMilli(real[0].getPublishedAt().toEpochMilli()));
    // the forged version first, so it is on the topic well before the learner's next one
    var kind = FORGED.get(completed++ % FORGED.size());
    var sends = new ArrayList<Future<RecordMetadata>>();
    switch (kind) {
      case "next version corrupted" -> {
        var next = recut(whole, v + 1);
        next.set(1, corrupted(next.get(1)));
        next.forEach(c -> sends.add(send(c, kind)));
      }
      case "next version torn (a chunk dropped)" -> {
        var next = recut(whole, v + 1);
        next.subList(0, next.size() - 1).forEach(c -> sends.add(send(c, kind)));
      }
      case "next version replayed, chunks reordered and duplicated" -> {
        var next = recut(whole, v + 1);
        for (int i = next.size() - 1; i >= 0; i--) {
          sends.add(send(next.get(i), kind));
          sends.add(send(next.get(i), kind));
        }
      }
      case "version Long.MAX_VALUE" ->
          recut(whole, Long.MAX_VALUE).forEach(c -> sends.add(send(c, kind)));
      default -> sends.add(send(recut(whole, v + 1_000_000).get(0), kind));
    }
    forgedVersions.add(
        switch (kind) {
          case "version Long.MAX_VALUE" -> Long.MAX_VALUE;
          case "version far ahead, partial" -> v + 1_000_000;
          default -> v + 1;
        });
    count(kind);

    // then stale copies of the version just completed: must change nothing
    for (var c : real) sends.add(send(c, "stale copy: chunks duplicated"));
    var cut = recut(whole, v);
    for (int i = cut.size() - 1; i >= 0; i--)
      sends.add(send(cut.get(i), "stale copy: chunks reordered"));
    sends.add(send(corrupted(cut.get(0)), "stale copy: a chunk corrupted"));
    for (int i = 0; i < cut.size() - 1; i++)
      sends.add(send(cut.get(i), "stale copy: a chunk dropped"));
    count("stale copies of a whole version");
    producer.flush();
    for (var sent : sends) {
      try {
        sent.get(30, TimeUnit.SECONDS);
      } catch (Exception e) {
        throw new IllegalStateException(
            "the interposer could not write to " + Topics.POLICY_WEIGHTS, e);
      }
    }
  }

  /** The version's bytes cut into four chunks (at least one byte each) as {@code version}. */
  private static List<WeightChunk> recut(PublishedWeights whole, long version) {
    int chunkBytes = Math.max(1, (whole.bytes().length + 3) / 4);
    var relabelled =
        new PublishedWeights(
            whole.model(), version, whole.bytes(), whole.meta(), whole.publishedAt());
    return new ArrayList<>(WeightChunker.split(relabelled, chunkBytes));
  }

  private static WeightChunk corrupted(WeightChunk chunk) {
    var data = remaining(chunk.getData());
    data[data.length / 2] ^= 0x40; // one bit; the chunk still claims the original's SHA-256
    return WeightChunk.newBuilder(chunk).setData(ByteBuffer.wrap(data)).build();
  }

  private static byte[] remaining(ByteBuffer buffer) {
    var copy = buffer.duplicate();
    var out = new byte[copy.remaining()];
    copy.get(out);
    return out;
  }

  private Future<RecordMetadata> send(WeightChunk chunk, String kind) {
    var record =
        new ProducerRecord<>(
            Topics.POLICY_WEIGHTS,
            WeightChunker.key(chunk).getBytes(StandardCharsets.UTF_8),
            CHUNKS.encode(chunk, chunk.getData().remaining() + 4096));
    record.headers().add(Tap.INJECTED, kind.getBytes(StandardCharsets.UTF_8));
    return producer.send(record);
  }

  private void count(String kind) {
    faults.merge(kind, 1L, Long::sum);
  }

  @Override
  public void close() {
    tap.close();
    producer.close(Duration.ofSeconds(10));
  }
}
