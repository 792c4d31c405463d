package io.streamrlhf.schemas;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.stream.Stream;
import org.apache.avro.SchemaNormalization;
import org.apache.avro.specific.SpecificRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class AvroCodecTest {

  static Stream<SpecificRecord> everyRecordType() {
    return Stream.of(
        Fixtures.prompt(),
        Fixtures.rollout(),
        Fixtures.weightChunk(),
        Fixtures.labelRequest(),
        Fixtures.comparison(),
        Fixtures.deadLetter());
  }

  @ParameterizedTest
  @MethodSource("everyRecordType")
  <T extends SpecificRecord> void everyRecordTypeRoundTripsUnchanged(T record) {
    @SuppressWarnings("unchecked")
    var codec = AvroCodec.of((Class<T>) record.getClass());

    var decoded = codec.decode(codec.encode(record));

    assertThat(decoded).isEqualTo(record).isNotSameAs(record);
  }

  @ParameterizedTest
  @MethodSource("everyRecordType")
  <T extends SpecificRecord> void messageStartsWithTheSingleObjectHeader(T record) {
    @SuppressWarnings("unchecked")
    var codec = AvroCodec.of((Class<T>) record.getClass());

    var bytes = codec.encode(record);

    // Avro spec, single-object encoding: C3 01, then the CRC-64-AVRO fingerprint, little-endian.
    assertThat(bytes[0]).isEqualTo((byte) 0xC3);
    assertThat(bytes[1]).isEqualTo((byte) 0x01);
    long fingerprint = ByteBuffer.wrap(bytes, 2, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
    assertThat(fingerprint).isEqualTo(SchemaNormalization.parsingFingerprint64(record.getSchema()));
  }

  @Test
  void everyTopicValueTypeHasACodec() {
    for (var topic : Topics.all()) {
      assertThat(AvroCodec.of(topic.valueType()).schema().getFullName())
          .isEqualTo(topic.valueType().getName());
    }
  }

  @Test
  void garbageIsRejectedWithTheTypeInTheMessage() {
    var codec = AvroCodec.of(Rollout.class);

    assertThatThrownBy(() -> codec.decode("not avro".getBytes()))
        .isInstanceOf(UndecodableRecordException.class)
        .hasMessageContaining("Rollout");
    assertThatThrownBy(() -> codec.decode(null)).isInstanceOf(UndecodableRecordException.class);
  }

  @Test
  void aTruncatedBodyIsRejected() {
    var codec = AvroCodec.of(Rollout.class);
    var bytes = codec.encode(Fixtures.rollout());

    assertThatThrownBy(() -> codec.decode(Arrays.copyOf(bytes, bytes.length - 3)))
        .isInstanceOf(UndecodableRecordException.class);
  }

  @Test
  void aMessageOfAnotherRecordTypeIsRejected() {
    var promptBytes = AvroCodec.of(Prompt.class).encode(Fixtures.prompt());

    // The fingerprint names Prompt's schema, which the Rollout codec does not know.
    assertThatThrownBy(() -> AvroCodec.of(Rollout.class).decode(promptBytes))
        .isInstanceOf(UndecodableRecordException.class)
        .hasMessageContaining("MissingSchemaException");
  }

  @Test
  void aSizeHintChangesNothingInTheBytes() {
    var codec = AvroCodec.of(WeightChunk.class);
    var chunk = Fixtures.weightChunk();
    var plain = codec.encode(chunk);
    assertThat(codec.encode(chunk, 1)).isEqualTo(plain);
    assertThat(codec.encode(chunk, plain.length)).isEqualTo(plain);
    assertThat(codec.encode(chunk, 10 * plain.length)).isEqualTo(plain);
  }
}
