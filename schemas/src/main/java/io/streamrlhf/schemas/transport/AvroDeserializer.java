package io.streamrlhf.schemas.transport;

import io.streamrlhf.schemas.AvroCodec;
import org.apache.kafka.common.serialization.Deserializer;

/**
 * A Kafka {@link Deserializer} for single-object Avro records, for tools and tests. It throws on a
 * bad record, which makes {@code poll} fail; the loop's consumers read bytes and decode through
 * {@link DecodingConsumer} instead, so a bad record becomes a dead letter.
 */
public final class AvroDeserializer<T> implements Deserializer<T> {
  private final AvroCodec<T> codec;

  public AvroDeserializer(AvroCodec<T> codec) {
    this.codec = codec;
  }

  @Override
  public T deserialize(String topic, byte[] data) {
    return data == null ? null : codec.decode(data);
  }
}
