package io.streamrlhf.schemas.transport;

import io.streamrlhf.schemas.AvroCodec;
import org.apache.kafka.common.serialization.Serializer;

/** A Kafka {@link Serializer} writing records in Avro's single-object encoding. */
public final class AvroSerializer<T> implements Serializer<T> {
  private final AvroCodec<T> codec;

  public AvroSerializer(AvroCodec<T> codec) {
    this.codec = codec;
  }

  @Override
  public byte[] serialize(String topic, T record) {
    return record == null ? null : codec.encode(record);
  }
}
