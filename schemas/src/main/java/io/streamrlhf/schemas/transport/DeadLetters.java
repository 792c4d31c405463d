package io.streamrlhf.schemas.transport;

import io.streamrlhf.schemas.AvroCodec;
import io.streamrlhf.schemas.DeadLetter;
import io.streamrlhf.schemas.Topics;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;

/** Decoding that never throws: a record that fails to decode turns into a {@link DeadLetter}. */
public final class DeadLetters {
  private static final AvroCodec<DeadLetter> CODEC = AvroCodec.of(DeadLetter.class);

  private DeadLetters() {}

  /**
   * Decodes the record's value, or wraps its raw bytes and the error into a dead letter.
   *
   * @param consumer who is decoding (client id or group), recorded in the dead letter
   */
  public static <T> Decoded<T> decode(
      AvroCodec<T> codec, ConsumerRecord<byte[], byte[]> record, String consumer) {
    try {
      var value = codec.decode(record.value());
      return new Decoded.Value<>(
          value, record.topic(), record.partition(), record.offset(), record.timestamp());
    } catch (RuntimeException e) {
      return new Decoded.Dead<>(letter(record, e, consumer));
    }
  }

  public static DeadLetter letter(
      ConsumerRecord<byte[], byte[]> record, Throwable error, String consumer) {
    return DeadLetter.newBuilder()
        .setTopic(record.topic())
        .setPartition(record.partition())
        .setOffset(record.offset())
        .setKey(record.key() == null ? null : ByteBuffer.wrap(record.key()))
        .setValue(record.value() == null ? null : ByteBuffer.wrap(record.value()))
        .setError(error.getClass().getName() + ": " + error.getMessage())
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
