package io.streamrlhf.schemas.transport;

import io.streamrlhf.schemas.AvroCodec;
import io.streamrlhf.schemas.RecordCheck;
import io.streamrlhf.schemas.Topics;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Future;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.common.TopicPartition;

/**
 * Polls a byte-level consumer, decodes every record and checks it; a record that does not decode,
 * or decodes but fails its {@link RecordCheck}, goes, raw bytes and reason, to {@link
 * Topics#DEAD_LETTER} ({@link DeadLetters}), and polling goes on with the rest: no record can make
 * its reader throw on the same offset again and again.
 *
 * <p>Dead letters are written and acknowledged before {@link #poll} returns, so once the caller
 * commits offsets past a bad record (or checkpoints them), its dead letter is durable: nothing is
 * lost between the two. Borrows the consumer and producer; the caller owns and closes them.
 */
public final class DecodingConsumer<T> {
  private final Consumer<byte[], byte[]> consumer;
  private final AvroCodec<T> codec;
  private final RecordCheck<? super T> check;
  private final Producer<byte[], byte[]> deadLetterProducer;
  private final String name;
  private final Duration deadLetterTimeout;
  private long decoded;
  private long deadLettered;

  /**
   * @param check what a decoded record must satisfy to be used (e.g. {@link
   *     io.streamrlhf.schemas.RecordChecks#ROLLOUT} and the learner's model limits)
   * @param name who is consuming (recorded in dead letters), e.g. the client id
   * @param deadLetterTimeout how long to wait for the broker to acknowledge dead letters
   */
  public DecodingConsumer(
      Consumer<byte[], byte[]> consumer,
      AvroCodec<T> codec,
      RecordCheck<? super T> check,
      Producer<byte[], byte[]> deadLetterProducer,
      String name,
      Duration deadLetterTimeout) {
    this.consumer = Objects.requireNonNull(consumer, "consumer");
    this.codec = Objects.requireNonNull(codec, "codec");
    this.check = Objects.requireNonNull(check, "check");
    this.deadLetterProducer = Objects.requireNonNull(deadLetterProducer, "deadLetterProducer");
    this.name = Objects.requireNonNull(name, "name");
    this.deadLetterTimeout = Objects.requireNonNull(deadLetterTimeout, "deadLetterTimeout");
  }

  /**
   * One {@code poll}: the decoded, checked values in partition order; undecodable and invalid
   * records are dead-lettered and left out.
   *
   * @throws DeadLetterException when the dead-letter topic does not acknowledge in time: the whole
   *     poll is undone (each partition sought back to its first record), so its good records come
   *     again with the next poll rather than being lost with the bad one
   */
  public List<Decoded.Value<T>> poll(Duration timeout) {
    var records = consumer.poll(timeout);
    var firstOffsets = new HashMap<TopicPartition, Long>();
    for (var partition : records.partitions())
      firstOffsets.put(partition, records.records(partition).get(0).offset());
    try {
      return decode(records);
    } catch (RuntimeException e) {
      firstOffsets.forEach(consumer::seek);
      throw e;
    }
  }

  private List<Decoded.Value<T>> decode(ConsumerRecords<byte[], byte[]> records) {
    var values = new ArrayList<Decoded.Value<T>>(records.count());
    var pending = new ArrayList<Future<?>>();
    for (var record : records) {
      var outcome = DeadLetters.decode(codec, check, record, name);
      if (outcome instanceof Decoded.Value<T> v) {
        values.add(v);
      } else if (outcome instanceof Decoded.Dead<T> d) {
        pending.add(deadLetterProducer.send(DeadLetters.toProducerRecord(d.letter())));
      }
    }
    Acks.await(
        pending,
        deadLetterTimeout,
        "dead letters to " + Topics.DEAD_LETTER,
        DeadLetterException::new);
    decoded += values.size();
    deadLettered += pending.size();
    return values;
  }

  /** Records decoded so far. */
  public long decoded() {
    return decoded;
  }

  /** Records sent to the dead-letter topic so far (undecodable or invalid). */
  public long deadLettered() {
    return deadLettered;
  }

  public Consumer<byte[], byte[]> consumer() {
    return consumer;
  }

  /** The dead-letter topic did not take a letter; offsets must not move past the bad record. */
  public static final class DeadLetterException extends RuntimeException {
    public DeadLetterException(String message, Throwable cause) {
      super(message, cause);
    }
  }
}
