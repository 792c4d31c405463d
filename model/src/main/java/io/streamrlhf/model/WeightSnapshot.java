package io.streamrlhf.model;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;

/**
 * A versioned, checksummed set of named tensors: a model's weights (or optimizer state) as bytes
 * that can cross a process boundary.
 *
 * <p>Wire format of {@link #encode()}: the 8 ASCII bytes {@code SRLHFW01}, the version as a
 * big-endian int64, the SHA-256 of (version bytes ‖ payload), then the payload, which is
 * safetensors (https://github.com/huggingface/safetensors) as written by DJL's {@code
 * NDList.encode(Encoding.SAFETENSORS)}: tensors by parameter name.
 *
 * @param version the policy version (or optimizer step) the tensors belong to
 * @param safetensors the payload
 */
public record WeightSnapshot(long version, byte[] safetensors) {

  private static final byte[] MAGIC = "SRLHFW01".getBytes(StandardCharsets.US_ASCII);
  private static final int HEADER = MAGIC.length + Long.BYTES + 32;

  /** The snapshot with its checksum, ready to store or publish. */
  public byte[] encode() {
    var out = ByteBuffer.allocate(HEADER + safetensors.length);
    out.put(MAGIC).putLong(version).put(checksum(version, safetensors)).put(safetensors);
    return out.array();
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
}
