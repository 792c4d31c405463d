package io.streamrlhf.infra.stream;

import io.streamrlhf.schemas.AvroCodec;
import io.streamrlhf.schemas.Topics;
import io.streamrlhf.schemas.transport.KafkaClientConfigs;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;

/**
 * Reads a topic of the loop from the beginning, every partition, decoding its records, and keeps
 * reading until what it holds satisfies a condition (with a deadline): how the streaming tests wait
 * for records without sleeping.
 */
final class TopicTail<T extends org.apache.avro.specific.SpecificRecord> implements AutoCloseable {
  private final KafkaConsumer<byte[], byte[]> consumer;
  private final AvroCodec<T> codec;
  private final List<TopicPartition> partitions = new ArrayList<>();
  private final List<T> records = new ArrayList<>();
  private final String topic;

  TopicTail(String bootstrap, String topic, Class<T> type) {
    this.topic = topic;
    this.codec = AvroCodec.of(type);
    this.consumer =
        new KafkaConsumer<>(KafkaClientConfigs.weightsConsumer(bootstrap, "test-tail-" + topic));
    int count = Topics.byName(topic).orElseThrow().partitions();
    for (int p = 0; p < count; p++) partitions.add(new TopicPartition(topic, p));
    consumer.assign(partitions);
    consumer.seekToBeginning(partitions);
  }

  /** Reads until {@code done} holds for everything read so far; fails after {@code timeout}. */
  List<T> until(Predicate<List<T>> done, String what, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!done.test(records)) {
      if (System.nanoTime() > deadline)
        throw new AssertionError(
            "no " + what + " on " + topic + " within " + timeout + "; read " + records.size());
      for (var record : consumer.poll(Duration.ofMillis(100)))
        records.add(codec.decode(record.value()));
    }
    return List.copyOf(records);
  }

  /** Reads up to the end of the topic as it is now. */
  List<T> toEnd(Duration timeout) {
    var end = consumer.endOffsets(partitions, timeout);
    return until(
        read -> partitions.stream().allMatch(tp -> consumer.position(tp) >= end.get(tp)),
        "end of the topic",
        timeout);
  }

  @Override
  public void close() {
    consumer.close();
  }
}
