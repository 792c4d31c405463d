package io.streamrlhf.schemas;

import java.security.MessageDigest;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * Reassembles {@link WeightChunk}s of one model into whole, verified {@link PublishedWeights}.
 *
 * <p>The guarantee a weight subscriber builds on: {@link #accept} returns a snapshot only when
 * every chunk of that version arrived and the SHA-256 of the reassembled bytes equals the one the
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
  public Optional<PublishedWeights> accept(WeightChunk chunk) {
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
    if (partial.received < partial.count) {
      return Optional.empty();
    }
    var done = partial;
    partial = null;
    var bytes = done.verified();
    if (bytes == null) {
      counts.failedVerification++;
      return Optional.empty();
    }
    latestVersion = version;
    counts.completed++;
    return Optional.of(
        new PublishedWeights(model, version, bytes, done.meta, done.first.getPublishedAt()));
  }

  /** The newest version this assembler completed, if any. */
  public OptionalLong latestVersion() {
    return latestVersion < 0 ? OptionalLong.empty() : OptionalLong.of(latestVersion);
  }

  /** The version being collected and how many of its chunks are in, for progress logs. */
  public Optional<String> pending() {
    return partial == null
        ? Optional.empty()
        : Optional.of(
            "v" + partial.version + " " + partial.received + "/" + partial.count + " chunks");
  }

  public WeightCounts counts() {
    return new WeightCounts(
        counts.completed,
        counts.stale,
        counts.foreign,
        counts.malformed,
        counts.abandoned,
        counts.failedVerification);
  }

  /**
   * What the assembler saw: versions completed; chunks dropped as stale (older than the newest
   * version), foreign (another model) or malformed (bad indices, sizes or headers that disagree
   * within a version); partial versions abandoned for a newer one; versions whose reassembled bytes
   * failed the length or SHA-256 check.
   */
  public record WeightCounts(
      long completed,
      long stale,
      long foreign,
      long malformed,
      long abandoned,
      long failedVerification) {}

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

  /**
   * The chunks of one version collected so far, written straight into the snapshot's byte array at
   * their offsets (chunk i at i × the size of every chunk but the last, the last at the end), and
   * hashed as soon as every chunk before them is in: on a weight topic's single ordered partition
   * the SHA-256 is done, bar the last chunk, when the last chunk arrives, and no chunk is copied
   * twice. Chunks whose lengths do not fit one layout make the version fail verification.
   */
  private static final class Partial {
    final WeightChunk first;
    final long version;
    final byte[] sha256;
    final Map<String, String> meta;
    final long total;
    final int count;
    final int[] lengths;
    final MessageDigest digest = WeightChunker.newSha256();
    byte[] out;
    int chunkBytes = -1;
    int received;
    int hashed;
    long heldBytes;
    boolean torn;

    Partial(WeightChunk first) {
      this.first = first;
      this.version = first.getVersion();
      this.sha256 = first.getSha256().bytes().clone();
      this.meta = Map.copyOf(first.getMeta());
      this.total = first.getTotalBytes();
      this.count = first.getChunkCount();
      this.lengths = new int[count];
      java.util.Arrays.fill(lengths, -1);
    }

    boolean sameVersionHeader(WeightChunk c) {
      return c.getChunkCount() == first.getChunkCount()
          && c.getTotalBytes() == first.getTotalBytes()
          && MessageDigest.isEqual(c.getSha256().bytes(), sha256);
    }

    /** Stores the chunk; false when it would hold more bytes than the version has. */
    boolean put(WeightChunk c) {
      var data = c.getData().duplicate();
      int index = c.getChunkIndex();
      int length = data.remaining();
      int previous = lengths[index];
      long held = heldBytes - Math.max(0, previous) + length;
      if (held > total) {
        return false;
      }
      if (out == null) {
        out = new byte[(int) total]; // total ≤ maxSnapshotBytes (wellFormed)
      }
      boolean last = index == count - 1;
      if (!last && chunkBytes < 0) {
        chunkBytes = length;
      }
      long offset = last ? total - length : (long) index * chunkBytes;
      if ((!last && length != chunkBytes)
          || offset < 0
          || offset + length > total
          || (previous >= 0 && previous != length)) {
        torn = true; // fails verification on completion, as a torn concatenation would
      } else {
        if (previous >= 0 && index < hashed) {
          digest.reset(); // a redelivered chunk replaces bytes already hashed: hash again from the
          // start
          hashed = 0;
        }
        data.get(out, (int) offset, length);
      }
      lengths[index] = length;
      if (previous < 0) {
        received++;
      }
      heldBytes = held;
      hashInOrder();
      return true;
    }

    private void hashInOrder() {
      while (!torn && hashed < count && lengths[hashed] >= 0) {
        int length = lengths[hashed];
        long offset = hashed == count - 1 ? total - length : (long) hashed * chunkBytes;
        digest.update(out, (int) offset, length);
        hashed++;
      }
    }

    /** The whole snapshot if its chunks tile it exactly and its SHA-256 matches; else null. */
    byte[] verified() {
      if (torn
          || heldBytes != total
          || count > 1 && (long) (count - 1) * chunkBytes + lengths[count - 1] != total) {
        return null;
      }
      hashInOrder();
      var bytes = out == null ? new byte[0] : out;
      return MessageDigest.isEqual(digest.digest(), sha256) ? bytes : null;
    }
  }
}
