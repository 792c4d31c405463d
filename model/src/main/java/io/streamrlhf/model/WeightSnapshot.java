package io.streamrlhf.model;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Objects;

/**
 * A versioned, checksummed set of named tensors: a model's weights (or optimizer state) as bytes
 * that can cross a process boundary.
 *
 * <p>Wire format of {@link #encode()}: the 8 ASCII bytes {@code SRLHFW01}, the version as a
 * big-endian int64, the SHA-256 of (version bytes ‖ payload), then the payload, which is
 * safetensors (https://github.com/huggingface/safetensors) as written by DJL's {@code
 * NDList.encode(Encoding.SAFETENSORS)}: tensors by parameter name.
 *
 * <p>The frame's SHA-256 is computed once and kept: a learner's checkpoint computes it while it
 * writes the frame (its manifest hashes every file), and the version it then publishes (whose
 * chunks carry the same hash) reuses it instead of hashing 13 MB again per update; the frame is
 * built as an array only when something needs it whole, as publishing does. Treat the arrays as
 * immutable.
 */
public final class WeightSnapshot {

  private static final byte[] MAGIC = "SRLHFW01".getBytes(StandardCharsets.US_ASCII);
  private static final int HEADER = MAGIC.length + Long.BYTES + 32;

  /**
   * Bytes per call when a frame goes to or comes from a file: a heap array handed whole to a file
   * channel is first copied into a direct buffer of its size, which the thread then keeps.
   */
  private static final int IO_SLICE = 1 << 20;

  private final long version;
  private final byte[] safetensors;
  private volatile byte[] encoded;
  private volatile byte[] encodedSha256;

  /**
   * @param version the policy version (or optimizer step) the tensors belong to
   * @param safetensors the payload
   */
  public WeightSnapshot(long version, byte[] safetensors) {
    this.version = version;
    this.safetensors = Objects.requireNonNull(safetensors, "safetensors");
  }

  public long version() {
    return version;
  }

  public byte[] safetensors() {
    return safetensors;
  }

  /** The snapshot with its checksum, ready to store or publish (the same array every call). */
  public byte[] encode() {
    var bytes = encoded;
    if (bytes == null) {
      var out = ByteBuffer.allocate(HEADER + safetensors.length);
      out.put(MAGIC).putLong(version).put(checksum(version, safetensors)).put(safetensors);
      encoded = bytes = out.array();
    }
    return bytes;
  }

  /** The SHA-256 of {@link #encode()}'s bytes, the whole frame (computed once). */
  public byte[] encodedSha256() {
    var sha = encodedSha256;
    if (sha == null) {
      encodedSha256 = sha = newDigest().digest(encode());
    }
    return sha.clone();
  }

  /** How many bytes {@link #encode()}'s frame holds. */
  public long frameBytes() {
    return HEADER + (long) safetensors.length;
  }

  /**
   * Writes the frame {@link #encode()} returns to {@code out} and returns its SHA-256 (kept, as
   * {@link #encodedSha256()} keeps it). A frame not built yet is written from the payload without
   * being built: a snapshot that is stored and never published, such as one of AdamW's moments,
   * needs no second copy of itself on the heap.
   */
  public byte[] writeFrame(WritableByteChannel out) throws IOException {
    var built = encoded;
    if (built != null) {
      writeSliced(out, built, null);
      return encodedSha256();
    }
    var header =
        ByteBuffer.allocate(HEADER)
            .put(MAGIC)
            .putLong(version)
            .put(checksum(version, safetensors))
            .array();
    var frame = newDigest();
    writeSliced(out, header, frame);
    writeSliced(out, safetensors, frame);
    var sha = frame.digest();
    encodedSha256 = sha;
    return sha.clone();
  }

  /**
   * Reads and verifies a frame of {@code length} bytes written by {@link #writeFrame} or {@link
   * #encode()}, as {@link #decode} does, holding only the payload on the heap.
   *
   * @throws IllegalArgumentException if the bytes are not a snapshot or fail the checksum
   * @throws EOFException if {@code in} ends before {@code length} bytes
   */
  public static WeightSnapshot readFrame(ReadableByteChannel in, long length) throws IOException {
    if (length < HEADER) {
      throw new IllegalArgumentException(
          "not a streamrlhf weight snapshot (" + length + " bytes, less than its header)");
    }
    if (length - HEADER > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException(
          "a weight snapshot of "
              + length
              + " bytes: its tensors exceed the 2 GiB one Java array holds");
    }
    var header = new byte[HEADER];
    readSliced(in, header, length);
    if (!Arrays.equals(header, 0, MAGIC.length, MAGIC, 0, MAGIC.length)) {
      throw new IllegalArgumentException(
          "not a streamrlhf weight snapshot (missing SRLHFW01 header, " + length + " bytes)");
    }
    long version = ByteBuffer.wrap(header, MAGIC.length, Long.BYTES).getLong();
    var payload = new byte[(int) (length - HEADER)];
    readSliced(in, payload, length);
    return verified(new WeightSnapshot(version, payload), header);
  }

  /**
   * Parses and verifies bytes written by {@link #encode()}.
   *
   * @throws IllegalArgumentException if the bytes are not a snapshot or fail the checksum
   */
  public static WeightSnapshot decode(byte[] bytes) {
    return verified(decodeTransportVerified(bytes), bytes);
  }

  /** The snapshot, when its payload's SHA-256 is the one in the frame's header. */
  private static WeightSnapshot verified(WeightSnapshot snapshot, byte[] header) {
    byte[] expected = Arrays.copyOfRange(header, MAGIC.length + Long.BYTES, HEADER);
    byte[] actual = checksum(snapshot.version(), snapshot.safetensors());
    if (!MessageDigest.isEqual(expected, actual)) {
      throw new IllegalArgumentException(
          "weight snapshot v"
              + snapshot.version()
              + " is corrupt: SHA-256 is "
              + HexFormat.of().formatHex(actual)
              + " but the header says "
              + HexFormat.of().formatHex(expected));
    }
    return snapshot;
  }

  /**
   * Parses bytes written by {@link #encode()} without hashing them again: for bytes whose integrity
   * was already verified end to end, as a weight topic's assembler does (SHA-256 of exactly these
   * bytes, computed by the publisher) before it hands a version to an actor. A second pass over the
   * same bytes would prove nothing more and costs ~10 ms per 13 MB.
   *
   * @throws IllegalArgumentException if the bytes are not a snapshot
   */
  public static WeightSnapshot decodeTransportVerified(byte[] bytes) {
    if (bytes.length < HEADER || !Arrays.equals(bytes, 0, MAGIC.length, MAGIC, 0, MAGIC.length)) {
      throw new IllegalArgumentException(
          "not a streamrlhf weight snapshot (missing SRLHFW01 header, " + bytes.length + " bytes)");
    }
    long version = ByteBuffer.wrap(bytes, MAGIC.length, Long.BYTES).getLong();
    return new WeightSnapshot(version, Arrays.copyOfRange(bytes, HEADER, bytes.length));
  }

  /** Hex SHA-256 of version and payload, e.g. to log which weights an actor serves. */
  public String sha256() {
    return HexFormat.of().formatHex(checksum(version, safetensors));
  }

  private static byte[] checksum(long version, byte[] payload) {
    var digest = newDigest();
    digest.update(ByteBuffer.allocate(Long.BYTES).putLong(version).array());
    return digest.digest(payload);
  }

  private static MessageDigest newDigest() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java 17 runtime provides SHA-256", e);
    }
  }

  /** Writes {@code bytes} in slices, each added to {@code digest} (when given) as it goes. */
  private static void writeSliced(WritableByteChannel out, byte[] bytes, MessageDigest digest)
      throws IOException {
    for (int at = 0; at < bytes.length; ) {
      int length = Math.min(IO_SLICE, bytes.length - at);
      if (digest != null) digest.update(bytes, at, length);
      var slice = ByteBuffer.wrap(bytes, at, length);
      while (slice.hasRemaining()) at += out.write(slice);
    }
  }

  private static void readSliced(ReadableByteChannel in, byte[] bytes, long frameLength)
      throws IOException {
    for (int at = 0; at < bytes.length; ) {
      int n = in.read(ByteBuffer.wrap(bytes, at, Math.min(IO_SLICE, bytes.length - at)));
      if (n < 0)
        throw new EOFException("a weight snapshot ends before its " + frameLength + " bytes");
      at += n;
    }
  }

  @Override
  public String toString() {
    return "WeightSnapshot[v" + version + ", " + safetensors.length + " bytes]";
  }
}
