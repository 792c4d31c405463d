package io.streamrlhf.schemas;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.message.BinaryMessageDecoder;
import org.apache.avro.message.BinaryMessageEncoder;
import org.apache.avro.message.SchemaStore;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificRecord;

/**
 * Encodes and decodes one record type in Avro's single-object encoding (Avro spec, "Single object
 * encoding"): the two magic bytes {@code C3 01}, the 8-byte little-endian CRC-64-AVRO fingerprint
 * of the writer's schema, then the Avro binary body.
 *
 * <p>Because every message names its writer schema, a reader resolves old messages against its own
 * (reader) schema, as long as it knows the writer schema by fingerprint. The codec knows the
 * current schema and every earlier version kept on the classpath as {@code
 * io/streamrlhf/schemas/history/<Name>-v<N>.avsc} (N = 1, 2, ...): when a schema changes, copy the
 * old {@code .avsc} there, and records written before the change stay readable.
 *
 * <p>Decoding never allocates more than a record on a topic can hold: {@link AvroLimits} caps the
 * lengths a body may claim, and a longer claim is an {@link UndecodableRecordException}.
 *
 * <p>Thread-safe: Avro's message encoder and decoder keep per-thread buffers.
 */
public final class AvroCodec<T> {
  /** Where earlier versions of each schema are kept, so old records stay readable. */
  static final String HISTORY = "io/streamrlhf/schemas/history/";

  static {
    AvroLimits.apply(); // before any decoder of ours reads a length a forged record states
  }

  private final Schema schema;
  private final BinaryMessageEncoder<T> encoder;
  private final BinaryMessageDecoder<T> decoder;
  private final SchemaStore.Cache writerSchemas;

  private AvroCodec(GenericData model, Schema readerSchema) {
    this.schema = readerSchema;
    this.writerSchemas = new SchemaStore.Cache();
    this.encoder = new BinaryMessageEncoder<>(model, readerSchema);
    this.decoder = new BinaryMessageDecoder<>(model, readerSchema, writerSchemas);
    for (var older : history(readerSchema.getName())) {
      addWriterSchema(older);
    }
  }

  /** The codec for a generated record class, e.g. {@code AvroCodec.of(Rollout.class)}. */
  public static <T extends SpecificRecord> AvroCodec<T> of(Class<T> type) {
    var model = SpecificData.getForClass(type);
    return new AvroCodec<>(model, model.getSchema(type));
  }

  /**
   * A codec that reads into {@link GenericRecord}s of the given reader schema: for tools and for
   * checking that an older reader still understands newer writers.
   */
  public static AvroCodec<GenericRecord> generic(Schema readerSchema) {
    return new AvroCodec<>(GenericData.get(), readerSchema);
  }

  /**
   * Teaches the decoder another writer schema (an older or newer version of this record), so
   * messages carrying its fingerprint resolve against the reader schema.
   */
  public AvroCodec<T> addWriterSchema(Schema writerSchema) {
    writerSchemas.addSchema(writerSchema);
    decoder.addSchema(writerSchema);
    return this;
  }

  /** The schema records are written with and read into. */
  public Schema schema() {
    return schema;
  }

  public byte[] encode(T record) {
    return encode(record, 256);
  }

  /**
   * Encodes into a buffer of {@code expectedBytes} to start with: for large records (a 256 KiB
   * weight chunk), so the buffer does not grow by doubling and copying on the way.
   */
  public byte[] encode(T record, int expectedBytes) {
    Objects.requireNonNull(record, "record");
    var out = new ByteArrayOutputStream(Math.max(32, expectedBytes));
    try {
      encoder.encode(record, out);
    } catch (IOException e) {
      throw new UncheckedIOException(e); // a ByteArrayOutputStream does not fail
    }
    return out.toByteArray();
  }

  /**
   * Decodes one message.
   *
   * @throws UndecodableRecordException when the bytes are not a single-object message, name a
   *     writer schema this codec does not know, or do not parse under it
   */
  public T decode(byte[] message) {
    if (message == null) {
      throw new UndecodableRecordException(
          "null message (a tombstone?) where " + schema.getName() + " was expected");
    }
    try {
      return decoder.decode(message);
    } catch (IOException | RuntimeException e) {
      // Avro throws BadHeaderException / MissingSchemaException (IOException subclasses), EOF or
      // AvroRuntimeException on a torn body, and SystemLimitException on absurd lengths.
      throw new UndecodableRecordException(
          "cannot decode " + schema.getName() + " (" + message.length + " bytes): " + e, e);
    }
  }

  /** Earlier versions of the named schema found on the classpath, oldest first. */
  static List<Schema> history(String recordName) {
    var found = new ArrayList<Schema>();
    var loader = AvroCodec.class.getClassLoader();
    for (int v = 1; ; v++) {
      try (InputStream in = loader.getResourceAsStream(HISTORY + recordName + "-v" + v + ".avsc")) {
        if (in == null) {
          return found;
        }
        found.add(new Schema.Parser().parse(in));
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read schema history of " + recordName, e);
      }
    }
  }
}
