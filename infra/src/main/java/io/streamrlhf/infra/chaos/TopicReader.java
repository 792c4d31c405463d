package io.streamrlhf.infra.chaos;

import io.streamrlhf.schemas.Topics;
import io.streamrlhf.schemas.transport.Durations;
import io.streamrlhf.schemas.transport.KafkaClientConfigs;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;

/** Reads one topic, every partition, from the beginning to its end as it is now (bounded). */
final class TopicReader {
  private TopicReader() {}

  /**
   * The committed records of {@code topic} (read_committed: a fenced producer's aborted records are
   * not there).
   */
  static List<ConsumerRecord<byte[], byte[]>> readAll(
      String bootstrap, String topic, Duration timeout) {
    var out = new ArrayList<ConsumerRecord<byte[], byte[]>>();
    try (var consumer =
        new KafkaConsumer<byte[], byte[]>(
            KafkaClientConfigs.weightsConsumer(bootstrap, "chaos-read-" + topic))) {
      var partitions = new ArrayList<TopicPartition>();
      int count = Topics.byName(topic).orElseThrow().partitions();
      for (int p = 0; p < count; p++) partitions.add(new TopicPartition(topic, p));
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      var end = consumer.endOffsets(partitions, timeout);
      long deadline = System.nanoTime() + timeout.toNanos();
      while (partitions.stream().anyMatch(tp -> consumer.position(tp, timeout) < end.get(tp))) {
        if (System.nanoTime() > deadline)
          throw new ScenarioFailure(
              "could not read " + topic + " to its end within " + Durations.readable(timeout));
        consumer.poll(Duration.ofMillis(200)).forEach(out::add);
      }
    }
    return out;
  }
}
