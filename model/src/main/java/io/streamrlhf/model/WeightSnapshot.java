package io.streamrlhf.model;

import java.nio.ByteBuffer;
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
 * <p>The encoding and the SHA-256 of it are computed once and kept: a learner's checkpoint (its
 * manifest hashes every file) and the version it then publishes (whose chunks carry the same hash)
 * share them instead of encoding and hashing 13 MB twice each per update. Treat the arrays as
 * immutable.
 */
public final class WeightSnapshot {

  private static final byte[] MAGIC = "SRLHFW01".getBytes(StandardCharsets.US_ASCII);
  private static final int HEADER = MAGIC.length + Long.BYTES + 32;

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
      try {
        encodedSha256 = sha = MessageDigest.getInstance("SHA-256").digest(encode());
      } catch (NoSuchAlgorithmException e) {
        throw new IllegalStateException("every Java 17 runtime provides SHA-256", e);
      }
    }
    return sha.clone();
  }

  /**
   * Parses and verifies bytes written by {@link #encode()}.
   *
   * @throws IllegalArgumentException if the bytes are not a snapshot or fail the checksum
   */
  public static WeightSnapshot decode(byte[] bytes) {
    var snapshot = decodeTransportVerified(bytes);
    byte[] expected = Arrays.copyOfRange(bytes, MAGIC.length + Long.BYTES, HEADER);
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
    try {
      var digest = MessageDigest.getInstance("SHA-256");
      digest.update(ByteBuffer.allocate(Long.BYTES).putLong(version).array());
      return digest.digest(payload);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java 17 runtime provides SHA-256", e);
    }
  }

  @Override
  public String toString() {
    return "WeightSnapshot[v" + version + ", " + safetensors.length + " bytes]";
  }
}
