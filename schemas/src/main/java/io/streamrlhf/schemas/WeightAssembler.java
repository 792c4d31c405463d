package io.streamrlhf.schemas;

import java.security.MessageDigest;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * Reassembles {@link WeightChunk}s of one model into whole, verified {@link WeightSnapshot}s.
 *
 * <p>The guarantee a weight subscriber builds on: {@link #accept} returns a snapshot only when every
 * chunk of that version arrived and the SHA-256 of the reassembled bytes equals the one the
 * publisher computed. A missing chunk, a corrupted chunk or inconsistent chunk headers never yield
 * a version, so a reader never swaps to a torn model; it keeps its last good one.
 *
 * <p>Versions only move forward. Chunks of a version not newer than the last one completed are
 * dropped; the first chunk of a newer version abandons a partial older one (on the single ordered
 * partition of a weight topic, its missing chunks will not come). So at most one partial version is
 * held: memory is bounded by the size of one snapshot, capped by {@code maxSnapshotBytes}.
 *
 * <p>Not thread-safe: one assembler belongs to one subscriber.
 */
public final class WeightAssembler {
  /** Largest snapshot a Java byte array can hold. */
  public static final long MAX_SNAPSHOT_BYTES = Integer.MAX_VALUE - 8;

  private final WeightModel model;
  private final long maxSnapshotBytes;
  private long latestVersion = -1;
  private Partial partial;
  private final Counts counts = new Counts();

  public WeightAssembler(WeightModel model) {
    this(model, MAX_SNAPSHOT_BYTES);
  }

  public WeightAssembler(WeightModel model, long maxSnapshotBytes) {
    if (maxSnapshotBytes < 0 || maxSnapshotBytes > MAX_SNAPSHOT_BYTES) {
      throw new IllegalArgumentException("maxSnapshotBytes must be in 0.." + MAX_SNAPSHOT_BYTES);
    }
    this.model = model;
    this.maxSnapshotBytes = maxSnapshotBytes;
  }

  /**
   * Takes one chunk; returns the snapshot this chunk completed, if it completed and verified one.
   */
  public Optional<WeightSnapshot> accept(WeightChunk chunk) {
    if (chunk.getModel() != model) {
      counts.foreign++;
      return Optional.empty();
    }
    long version = chunk.getVersion();
    if (version <= latestVersion || (partial != null && version < partial.version)) {
      counts.stale++;
      return Optional.empty();
    }
    if (!wellFormed(chunk)) {
      counts.malformed++;
      return Optional.empty();
    }
    if (partial != null && version > partial.version) {
      counts.abandoned++;
      partial = null;
    }
    if (partial == null) {
      partial = new Partial(chunk);
    } else if (!partial.sameVersionHeader(chunk)) {
      counts.malformed++;
      return Optional.empty();
    }
    if (!partial.put(chunk)) {
      counts.malformed++;
      return Optional.empty();
    }
    if (partial.received < partial.chunks.length) {
      return Optional.empty();
    }
    var done = partial;
    partial = null;
    var bytes = done.concat();
    if (bytes == null || !MessageDigest.isEqual(WeightChunker.sha256(bytes), done.sha256)) {
      counts.failedVerification++;
      return Optional.empty();
    }
    latestVersion = version;
    counts.completed++;
    return Optional.of(new WeightSnapshot(model, version, bytes, done.meta, done.first.getPublishedAt()));
  }

  /** The newest version this assembler completed, if any. */
  public OptionalLong latestVersion() {
    return latestVersion < 0 ? OptionalLong.empty() : OptionalLong.of(latestVersion);
  }

  /** The version being collected and how many of its chunks are in, for progress logs. */
  public Optional<String> pending() {
    return partial == null
        ? Optional.empty()
        : Optional.of("v" + partial.version + " " + partial.received + "/" + partial.chunks.length + " chunks");
  }

  public WeightCounts counts() {
    return new WeightCounts(
        counts.completed, counts.stale, counts.foreign, counts.malformed, counts.abandoned, counts.failedVerification);
  }

  /**
   * What the assembler saw: versions completed; chunks dropped as stale (older than the newest
   * version), foreign (another model) or malformed (bad indices, sizes or headers that disagree
   * within a version); partial versions abandoned for a newer one; versions whose reassembled bytes
   * failed the length or SHA-256 check.
   */
  public record WeightCounts(
      long completed, long stale, long foreign, long malformed, long abandoned, long failedVerification) {}

  private boolean wellFormed(WeightChunk c) {
    long total = c.getTotalBytes();
    int count = c.getChunkCount();
    return total >= 0
        && total <= maxSnapshotBytes
        && count >= 1
        && count <= Math.max(1, total)
        && c.getChunkIndex() >= 0
        && c.getChunkIndex() < count
        && c.getData().remaining() <= total
        && c.getSha256() != null;
  }

  private static final class Counts {
    long completed, stale, foreign, malformed, abandoned, failedVerification;
  }

  /** The chunks of one version collected so far. */
  private static final class Partial {
    final WeightChunk first;
    final long version;
    final byte[] sha256;
    final Map<String, String> meta;
    final byte[][] chunks;
    int received;
    long heldBytes;

    Partial(WeightChunk first) {
      this.first = first;
      this.version = first.getVersion();
      this.sha256 = first.getSha256().bytes().clone();
      this.meta = Map.copyOf(first.getMeta());
      this.chunks = new byte[first.getChunkCount()][];
    }

    boolean sameVersionHeader(WeightChunk c) {
      return c.getChunkCount() == first.getChunkCount()
          && c.getTotalBytes() == first.getTotalBytes()
          && MessageDigest.isEqual(c.getSha256().bytes(), sha256);
    }

    /** Stores the chunk; false when it would hold more bytes than the version has. */
    boolean put(WeightChunk c) {
      var data = c.getData().duplicate();
      var previous = chunks[c.getChunkIndex()];
      long held = heldBytes - (previous == null ? 0 : previous.length) + data.remaining();
      if (held > first.getTotalBytes()) {
        return false;
      }
      var copy = new byte[data.remaining()];
      data.get(copy);
      chunks[c.getChunkIndex()] = copy; // a redelivered chunk replaces its earlier copy
      if (previous == null) {
        received++;
      }
      heldBytes = held;
      return true;
    }

    /** The chunks in index order, or null when their lengths do not add up to the total. */
    byte[] concat() {
      if (heldBytes != first.getTotalBytes()) {
        return null;
      }
      var out = new byte[(int) heldBytes];
      int at = 0;
      for (var chunk : chunks) {
        System.arraycopy(chunk, 0, out, at, chunk.length);
        at += chunk.length;
      }
      return out;
    }
  }
}
