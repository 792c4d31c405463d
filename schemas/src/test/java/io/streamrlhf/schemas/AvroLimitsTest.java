package io.streamrlhf.schemas;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Arrays;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.EncoderFactory;
import org.junit.jupiter.api.Test;

/**
 * A record whose body claims a string, bytes or array of about 2^31 is refused before anything of
 * that size is allocated: Avro's own default limit would let each of these through to an allocation
 * of gigabytes (an array of 2^31 boxed items is an OutOfMemoryError on any heap).
 */
class AvroLimitsTest {
  /** Under Avro's default limit (Integer.MAX_VALUE - 8), so only ours refuses it. */
  private static final long FORGED = Integer.MAX_VALUE - 16L;

  private interface Body {
    void write(BinaryEncoder body) throws IOException;
  }

  /** The single-object header of {@code type}'s schema, then a hand-written body. */
  private static <T> byte[] forged(AvroCodec<T> codec, T example, Body body) throws IOException {
    var out = new ByteArrayOutputStream();
    out.write(Arrays.copyOf(codec.encode(example), 10)); // C3 01 and the schema's fingerprint
    var encoder = EncoderFactory.get().directBinaryEncoder(out, null);
    body.write(encoder);
    encoder.flush();
    out.write(new byte[16]); // a few bytes of "content"
    return out.toByteArray();
  }

  @Test
  void theLimitsAreInEffectAndSizedToARecord() {
    AvroCodec.of(Prompt.class); // loading the codec applies them
    assertThat(AvroLimits.inEffect()).isTrue();
    assertThat(AvroLimits.MAX_LENGTH).isEqualTo(Topics.MAX_RECORD_BYTES);
  }

  @Test
  void aForgedStringLengthIsUndecodableNotAnAllocation() throws IOException {
    var codec = AvroCodec.of(Prompt.class);
    var bytes = forged(codec, Fixtures.prompt(), body -> body.writeLong(FORGED)); // promptId

    assertThatThrownBy(() -> codec.decode(bytes))
        .isInstanceOf(UndecodableRecordException.class)
        .hasMessageContaining("SystemLimitException");
  }

  @Test
  void aForgedBytesLengthIsUndecodableNotAnAllocation() throws IOException {
    var codec = AvroCodec.of(WeightChunk.class);
    var bytes =
        forged(
            codec,
            Fixtures.weightChunk(),
            body -> {
              body.writeEnum(0); // model
              body.writeLong(1); // version
              body.writeInt(0); // chunkIndex
              body.writeInt(1); // chunkCount
              body.writeLong(FORGED); // totalBytes
              body.writeFixed(new byte[32]); // sha256
              body.writeLong(FORGED); // data: its length
            });

    assertThatThrownBy(() -> codec.decode(bytes))
        .isInstanceOf(UndecodableRecordException.class)
        .hasMessageContaining("SystemLimitException");
  }

  @Test
  void aForgedArrayCountIsUndecodableNotAnAllocation() throws IOException {
    var codec = AvroCodec.of(Rollout.class);
    var bytes =
        forged(
            codec,
            Fixtures.rollout(),
            body -> {
              body.writeString("r"); // rolloutId
              body.writeString("p"); // promptId
              body.writeLong(FORGED); // promptTokens: the item count of its first block
            });

    assertThatThrownBy(() -> codec.decode(bytes))
        .isInstanceOf(UndecodableRecordException.class)
        .hasMessageContaining("SystemLimitException");
  }

  @Test
  void aRecordAsLargeAsATopicTakesStillDecodes() {
    var codec = AvroCodec.of(WeightChunk.class);
    var chunk = Fixtures.weightChunk();
    var data = new byte[WeightChunker.MAX_CHUNK_BYTES];
    chunk.setData(java.nio.ByteBuffer.wrap(data));
    chunk.setTotalBytes(data.length);

    assertThat(codec.decode(codec.encode(chunk)).getData().remaining()).isEqualTo(data.length);
  }
}
