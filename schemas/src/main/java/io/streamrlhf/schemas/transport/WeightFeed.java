package io.streamrlhf.schemas.transport;

import io.streamrlhf.schemas.AvroCodec;
import io.streamrlhf.schemas.PublishedWeights;
import io.streamrlhf.schemas.Topics;
import io.streamrlhf.schemas.WeightAssembler;
import io.streamrlhf.schemas.WeightChunk;
import io.streamrlhf.schemas.WeightModel;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TimeoutException;

/**
 * The reading side of a weight topic: reads every chunk from the beginning of the (compacted,
 * single-partition) topic and hands out whole, verified versions as {@link WeightAssembler}
 * completes them. A late joiner therefore starts from the newest version still in the log.
 *
 * <p>Borrows a consumer configured by {@link KafkaClientConfigs#weightsConsumer} (no group: every
 * reader sees every chunk) and assigns it the weight topic's partition itself.
 */
public final class WeightFeed {
  private final Consumer<byte[], byte[]> consumer;
  private final DecodingConsumer<WeightChunk> chunks;
  private final WeightAssembler assembler;
  private final TopicPartition partition;

  public WeightFeed(
      Consumer<byte[], byte[]> consumer,
      WeightModel model,
      Producer<byte[], byte[]> deadLetterProducer,
      String name) {
    this.consumer = consumer;
    this.assembler = new WeightAssembler(model);
    this.partition = new TopicPartition(Topics.weights(model), 0);
    this.chunks =
        new DecodingConsumer<>(
            consumer,
            AvroCodec.of(WeightChunk.class),
            assembler.check(),
            deadLetterProducer,
            name,
            Duration.ofSeconds(30));
    consumer.assign(List.of(partition));
    consumer.seekToBeginning(List.of(partition));
  }

  /** One poll; the newest version completed by the chunks it returned, if any. */
  public Optional<PublishedWeights> poll(Duration timeout) {
    Optional<PublishedWeights> newest = Optional.empty();
    for (var chunk : chunks.poll(timeout)) {
      var done = assembler.accept(chunk.value());
      if (done.isPresent()) {
        newest = done;
      }
    }
    return newest;
  }

  /**
   * Reads up to the end of the topic as it is now and returns the newest whole version found there
   * (empty when the log holds none: nothing published yet, or only a torn version).
   *
   * @throws TimeoutException when the end is not reached within the timeout
   */
  public Optional<PublishedWeights> catchUp(Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    long end = consumer.endOffsets(List.of(partition), timeout).get(partition);
    Optional<PublishedWeights> newest = Optional.empty();
    while (consumer.position(partition, remaining(deadline, timeout)) < end) {
      var done = poll(remaining(deadline, timeout));
      if (done.isPresent()) {
        newest = done;
      }
    }
    return newest;
  }

  private static Duration remaining(long deadline, Duration timeout) {
    long left = deadline - System.nanoTime();
    if (left <= 0) {
      throw new TimeoutException("weight topic not read to its end within " + timeout);
    }
    return Duration.ofNanos(left);
  }

  public WeightAssembler assembler() {
    return assembler;
  }

  /**
   * Chunks that did not decode, or were another model's or out of the assembler's limits, and went
   * to the dead-letter topic.
   */
  public long deadLettered() {
    return chunks.deadLettered();
  }
}
