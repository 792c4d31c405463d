package io.streamrlhf.infra.chaos;

import io.streamrlhf.schemas.Topics;
import io.streamrlhf.schemas.transport.KafkaClientConfigs;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;

/**
 * A background reader of some of the loop's topics, every partition from the beginning, handing
 * each record (raw bytes and headers, never decoded here) to a handler on its own thread. It rides
 * out a broker restart: the client reconnects by itself. Records chaos wrote itself carry the
 * header {@value #INJECTED}, so taps tell them from the loop's own.
 */
final class Tap implements AutoCloseable {
  /** The header on every record chaos injects; its value names the kind of fault. */
  static final String INJECTED = "rlhf-chaos";

  private final KafkaConsumer<byte[], byte[]> consumer;
  private final Thread thread;
  private volatile boolean running = true;
  private volatile Throwable failure;

  Tap(
      String bootstrap,
      String name,
      List<String> topics,
      Consumer<ConsumerRecord<byte[], byte[]>> handler) {
    consumer = new KafkaConsumer<>(KafkaClientConfigs.weightsConsumer(bootstrap, "chaos-" + name));
    var partitions = new ArrayList<TopicPartition>();
    for (var topic : topics) {
      int count = Topics.byName(topic).orElseThrow().partitions();
      for (int p = 0; p < count; p++) partitions.add(new TopicPartition(topic, p));
    }
    consumer.assign(partitions);
    consumer.seekToBeginning(partitions);
    thread =
        new Thread(
            () -> {
              try {
                while (running) {
                  for (var record : consumer.poll(Duration.ofMillis(200))) handler.accept(record);
                }
              } catch (WakeupException closing) {
                // close() woke the poll
              } catch (Throwable e) {
                failure = e;
              } finally {
                consumer.close(Duration.ofSeconds(5));
              }
            },
            "chaos-tap-" + name);
    thread.setDaemon(true);
    thread.start();
  }

  static boolean injected(ConsumerRecord<byte[], byte[]> record) {
    return record.headers().lastHeader(INJECTED) != null;
  }

  /** What stopped the tap early, if anything (a handler's exception). */
  Throwable failure() {
    return failure;
  }

  @Override
  public void close() {
    running = false;
    consumer.wakeup();
    try {
      thread.join(10_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
