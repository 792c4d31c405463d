package io.streamrlhf.schemas;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;

/**
 * Splits a weight snapshot into {@link WeightChunk} records small enough for Kafka's default 1 MiB
 * record limit ({@link Topics#MAX_RECORD_BYTES}); {@link WeightAssembler} puts them back together.
 */
public final class WeightChunker {
  /**
   * A quarter of the record limit: far from it even with the record's header fields and Kafka's
   * batch overhead, and large enough that a 13 MB snapshot is only ~50 records.
   */
  public static final int DEFAULT_CHUNK_BYTES = Topics.MAX_RECORD_BYTES / 4;

  /** Room left under the record limit for the chunk's other fields and the record batch header. */
  public static final int MAX_CHUNK_BYTES = Topics.MAX_RECORD_BYTES - 16 * 1024;

  private WeightChunker() {}

  public static List<WeightChunk> split(PublishedWeights snapshot) {
    return split(snapshot, DEFAULT_CHUNK_BYTES);
  }

  /**
   * The chunks of one snapshot, in index order. Each chunk's data is a view of the snapshot's array
   * (no copy); an empty snapshot is one empty chunk.
   */
  public static List<WeightChunk> split(PublishedWeights snapshot, int chunkBytes) {
    return split(snapshot, chunkBytes, sha256(snapshot.bytes()));
  }

  /**
   * As {@link #split(PublishedWeights, int)} with the snapshot's SHA-256 already computed (a
   * publisher that also signs hashes the bytes once for both).
   *
   * @param sha256 the SHA-256 of {@code snapshot.bytes()}, as {@link #sha256} computes it
   */
  public static List<WeightChunk> split(PublishedWeights snapshot, int chunkBytes, byte[] sha256) {
    if (chunkBytes < 1 || chunkBytes > MAX_CHUNK_BYTES) {
      throw new IllegalArgumentException(
          "chunk size must be in 1.."
              + MAX_CHUNK_BYTES
              + " bytes (Kafka's record limit), got "
              + chunkBytes);
    }
    var bytes = snapshot.bytes();
    int count = Math.max(1, (int) ((bytes.length + (long) chunkBytes - 1) / chunkBytes));
    var sha = new Sha256(sha256.clone());
    var chunks = new ArrayList<WeightChunk>(count);
    for (int i = 0; i < count; i++) {
      int from = i * chunkBytes;
      int length = Math.min(chunkBytes, bytes.length - from);
      chunks.add(
          WeightChunk.newBuilder()
              .setModel(snapshot.model())
              .setVersion(snapshot.version())
              .setChunkIndex(i)
              .setChunkCount(count)
              .setTotalBytes(bytes.length)
              .setSha256(sha)
              .setData(ByteBuffer.wrap(bytes, from, length).slice())
              .setPublishedAt(snapshot.publishedAt())
              .setMeta(new HashMap<>(snapshot.meta()))
              .build());
    }
    return chunks;
  }

  /**
   * The Kafka key of a chunk, {@code <model>/<chunkIndex>}: weight topics are compacted on it, so
   * the newest chunk of every index survives (see {@link Topics}).
   */
  public static String key(WeightChunk chunk) {
    return chunk.getModel().name().toLowerCase(Locale.ROOT) + "/" + chunk.getChunkIndex();
  }

  /** The SHA-256 of a snapshot's bytes: what every chunk carries and the assembler checks. */
  public static byte[] sha256(byte[] bytes) {
    return newSha256().digest(bytes);
  }

  static MessageDigest newSha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java platform must provide SHA-256", e);
    }
  }
}
