package io.streamrlhf.learner.stream;

import io.streamrlhf.learner.train.InputError;
import io.streamrlhf.schemas.AvroCodec;
import io.streamrlhf.schemas.WeightChunk;
import io.streamrlhf.schemas.WeightModel;
import io.streamrlhf.schemas.transport.KafkaAccess;
import io.streamrlhf.schemas.transport.KafkaClientConfigs;
import java.time.Duration;
import java.util.List;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;

/**
 * The newest committed weight chunk of a model on its topic, as an actor could read it: what a
 * publisher checks before it starts (a new run needs an empty topic; a resume, that the newest
 * version is its own run's). An end offset alone does not tell: records of aborted transactions and
 * transaction markers take offsets too.
 */
final class NewestChunk {
  private static final AvroCodec<WeightChunk> CHUNKS = AvroCodec.of(WeightChunk.class);
  private static final Duration POLL = Duration.ofMillis(200);

  /** Records from the end in which to look first; the window grows fourfold until one is found. */
  private static final int WINDOW = 64;

  private NewestChunk() {}

  /**
   * The newest committed chunk of {@code model} on partition 0 of {@code topic} (every version's
   * chunk 0 goes there), or null when it holds none.
   *
   * @throws InputError when the broker serves nothing more of the topic for {@code timeout}
   */
  static WeightChunk on(
      KafkaAccess kafka, String topic, WeightModel model, String clientId, Duration timeout) {
    var partition = new TopicPartition(topic, 0);
    try (var reader =
        new KafkaConsumer<byte[], byte[]>(KafkaClientConfigs.weightsConsumer(kafka, clientId))) {
      reader.assign(List.of(partition));
      long end = reader.endOffsets(List.of(partition), timeout).get(partition);
      long deadline = System.nanoTime() + timeout.toNanos();
      long window = WINDOW;
      // windows [end - 64, end), [end - 256, end - 64), ...: the first holding a chunk holds the
      // newest
      for (long from = end; from > 0; window *= 4) {
        long to = from;
        from = Math.max(0, end - window);
        reader.seek(partition, from);
        WeightChunk newest = null;
        // aborted records and markers are never returned: read to the position, not a count
        long position;
        long last = -1;
        while ((position = reader.position(partition, timeout)) < to) {
          // a big topic takes long: the bound is on a wait without progress
          if (position != last) {
            last = position;
            deadline = System.nanoTime() + timeout.toNanos();
          } else if (System.nanoTime() > deadline) {
            throw new InputError(
                "cannot read "
                    + topic
                    + " on "
                    + kafka
                    + ": the broker served nothing more of it for "
                    + io.streamrlhf.schemas.transport.Durations.readable(timeout));
          }
          for (var record : reader.poll(POLL)) {
            if (record.offset() >= to) continue;
            try {
              var chunk = CHUNKS.decode(record.value());
              if (chunk.getModel() == model) newest = chunk;
            } catch (RuntimeException undecodable) {
              // not a version anyone takes: it says nothing about who publishes
            }
          }
        }
        if (newest != null) return newest;
      }
      return null;
    }
  }
}
