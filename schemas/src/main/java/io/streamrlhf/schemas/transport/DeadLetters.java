package io.streamrlhf.schemas.transport;

import io.streamrlhf.schemas.AvroCodec;
import io.streamrlhf.schemas.DeadLetter;
import io.streamrlhf.schemas.RecordCheck;
import io.streamrlhf.schemas.Topics;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;
import java.util.Optional;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * Decoding that never throws: a record that fails to decode, or decodes but fails its {@link
 * RecordCheck}, turns into a {@link DeadLetter}.
 *
 * <p>The letter's {@code error} says which: {@code <exception class>: <message>} for a record that
 * did not decode (an {@link io.streamrlhf.schemas.UndecodableRecordException}, whose message names
 * Avro's own error, e.g. {@code SystemLimitException} for a forged length), {@code invalid
 * <Record>: <reason>} ({@link #INVALID}) for one that decoded but cannot be used.
 */
public final class DeadLetters {
  /** How the error of a record that decoded but failed its check starts. */
  public static final String INVALID = "invalid ";

  /**
   * Raw bytes kept in a letter: a record can be as large as the topic allows, and its letter (key,
   * value, error, position) must still fit under the producer's {@link Topics#MAX_RECORD_BYTES}, or
   * the dead-letter path would itself fail on it.
   */
  static final int MAX_VALUE_BYTES = Topics.MAX_RECORD_BYTES - 64 * 1024;

  static final int MAX_KEY_BYTES = 16 * 1024;
  static final int MAX_ERROR_CHARS = 2_000;

  private static final AvroCodec<DeadLetter> CODEC = AvroCodec.of(DeadLetter.class);

  private DeadLetters() {}

  /**
   * Decodes the record's value and checks it; or wraps its raw bytes and what is wrong into a dead
   * letter.
   *
   * @param consumer who is decoding (client id or group), recorded in the dead letter
   */
  public static <T> Decoded<T> decode(
      AvroCodec<T> codec,
      RecordCheck<? super T> check,
      ConsumerRecord<byte[], byte[]> record,
      String consumer) {
    T value;
    try {
      value = codec.decode(record.value());
    } catch (RuntimeException e) {
      return new Decoded.Dead<>(
          letter(record, e.getClass().getName() + ": " + e.getMessage(), consumer));
    }
    Optional<String> problem;
    try {
      problem = check.problem(value);
    } catch (RuntimeException e) { // a check that throws has found something it did not expect
      problem = Optional.of("check failed: " + e);
    }
    if (problem.isPresent()) {
      var error = INVALID + codec.schema().getName() + ": " + problem.get();
      return new Decoded.Dead<>(letter(record, error, consumer));
    }
    return new Decoded.Value<>(
        value, record.topic(), record.partition(), record.offset(), record.timestamp());
  }

  public static DeadLetter letter(
      ConsumerRecord<byte[], byte[]> record, Throwable error, String consumer) {
    return letter(record, error.getClass().getName() + ": " + error.getMessage(), consumer);
  }

  /**
   * The letter of {@code record}: its position, raw key and value (cut to {@link #MAX_VALUE_BYTES},
   * which the error then says) and why it is here.
   */
  public static DeadLetter letter(
      ConsumerRecord<byte[], byte[]> record, String error, String consumer) {
    if (error.length() > MAX_ERROR_CHARS) error = error.substring(0, MAX_ERROR_CHARS) + "...";
    var value = record.value();
    if (value != null && value.length > MAX_VALUE_BYTES) {
      error += " (value cut to its first " + MAX_VALUE_BYTES + " of " + value.length + " bytes)";
      value = Arrays.copyOf(value, MAX_VALUE_BYTES);
    }
    var key = record.key();
    if (key != null && key.length > MAX_KEY_BYTES) key = Arrays.copyOf(key, MAX_KEY_BYTES);
    return DeadLetter.newBuilder()
        .setTopic(record.topic())
        .setPartition(record.partition())
        .setOffset(record.offset())
        .setKey(key == null ? null : ByteBuffer.wrap(key))
        .setValue(value == null ? null : ByteBuffer.wrap(value))
        .setError(error)
        .setConsumer(consumer)
        .setFailedAt(Instant.now())
        .build();
  }

  /**
   * The record to produce to {@link Topics#DEAD_LETTER}, keyed {@code topic/partition/offset} so a
   * letter written twice (a consumer that crashed before committing) is recognisable.
   */
  public static ProducerRecord<byte[], byte[]> toProducerRecord(DeadLetter letter) {
    var key = letter.getTopic() + "/" + letter.getPartition() + "/" + letter.getOffset();
    return new ProducerRecord<>(
        Topics.DEAD_LETTER, key.getBytes(StandardCharsets.UTF_8), CODEC.encode(letter));
  }

  public static AvroCodec<DeadLetter> codec() {
    return CODEC;
  }
}
