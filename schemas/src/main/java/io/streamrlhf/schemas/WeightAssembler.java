package io.streamrlhf.schemas;

import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.function.LongPredicate;
import java.util.stream.Collectors;

/**
 * Reassembles {@link WeightChunk}s of one model into whole, verified {@link PublishedWeights}.
 *
 * <p>The guarantee a weight subscriber builds on: {@link #accept} returns a snapshot only when
 * every chunk of that version arrived and the SHA-256 of the reassembled bytes equals the one the
 * publisher computed. A missing chunk, a corrupted chunk or inconsistent chunk headers never yield
 * a version, so a reader never swaps to a torn model; it keeps its last good one.
 *
 * <p>Versions only move forward: chunks of a version not newer than the last one completed are
 * dropped. Anyone who can write to a weight topic can also write a chunk that never completes, so
 * nothing a chunk claims may block the versions after it or cost memory it did not bring ({@link
 * Limits}):
 *
 * <ul>
 *   <li>a chunk's data, and a version's total bytes, are capped; a version holds at most the bytes
 *       its chunks brought (no buffer is sized from a header), at most its total;
 *   <li>several versions are collected side by side, at most {@link Limits#maxPartialVersions}: an
 *       incomplete newer version (say {@code Long.MAX_VALUE}) never stops an older one from
 *       completing. When more start, the one that received a chunk least recently is abandoned;
 *   <li>once a version completes, every older partial one is abandoned (versions are published one
 *       after the other and each partition of a weight topic is ordered, so its missing chunks will
 *       not come), and a chunk more than {@link Limits#maxVersionsAhead} versions past it is
 *       refused, as are partial versions that far ahead.
 * </ul>
 *
 * <p>Not thread-safe: one assembler belongs to one subscriber.
 */
public final class WeightAssembler {
  /** Largest snapshot a Java byte array can hold. */
  public static final long MAX_SNAPSHOT_BYTES = Integer.MAX_VALUE - 8;

  /**
   * What one chunk and one version may claim, and how many versions are collected at once.
   *
   * @param maxChunkBytes largest data of one chunk (the publisher's is at most {@link
   *     WeightChunker#MAX_CHUNK_BYTES}, under Kafka's record limit)
   * @param maxSnapshotBytes largest total of one version
   * @param maxPartialVersions incomplete versions held at once
   * @param maxVersionsAhead how far past the newest completed version a chunk's version may be: a
   *     learner publishes one version per update, and a subscriber reads every chunk in order, so a
   *     real version is one ahead; the slack covers a reader that fell far behind
   */
  public record Limits(
      int maxChunkBytes, long maxSnapshotBytes, int maxPartialVersions, long maxVersionsAhead) {
    public static final Limits DEFAULT =
        new Limits(WeightChunker.MAX_CHUNK_BYTES, MAX_SNAPSHOT_BYTES, 3, 1_000);

    public Limits {
      if (maxChunkBytes < 1
          || maxSnapshotBytes < 0
          || maxSnapshotBytes > MAX_SNAPSHOT_BYTES
          || maxPartialVersions < 1
          || maxVersionsAhead < 1) {
        throw new IllegalArgumentException(
            "weight limits: chunk bytes >= 1, snapshot bytes in 0.."
                + MAX_SNAPSHOT_BYTES
                + ", partial versions >= 1, versions ahead >= 1; got "
                + maxChunkBytes
                + ", "
                + maxSnapshotBytes
                + ", "
                + maxPartialVersions
                + ", "
                + maxVersionsAhead);
      }
    }

    public Limits withMaxSnapshotBytes(long bytes) {
      return new Limits(maxChunkBytes, bytes, maxPartialVersions, maxVersionsAhead);
    }
  }

  private final WeightModel model;
  private final Limits limits;
  private long latestVersion = -1;

  /** Incomplete versions, least recently touched first (access order). */
  private final LinkedHashMap<Long, Partial> partials = new LinkedHashMap<>(4, 0.75f, true);

  private final Counts counts = new Counts();

  public WeightAssembler(WeightModel model) {
    this(model, Limits.DEFAULT);
  }

  public WeightAssembler(WeightModel model, long maxSnapshotBytes) {
    this(model, Limits.DEFAULT.withMaxSnapshotBytes(maxSnapshotBytes));
  }

  public WeightAssembler(WeightModel model, Limits limits) {
    this.model = model;
    this.limits = limits;
  }

  /**
   * What makes a chunk unusable whatever else arrived: another model's, or headers and sizes out of
   * the {@link Limits}. A reader checks chunks with it as they are decoded, so such a chunk is
   * dead-lettered; {@link #accept} checks again and counts it as foreign or malformed.
   */
  public RecordCheck<WeightChunk> check() {
    return c -> {
      if (c.getModel() != model)
        return Optional.of("a " + c.getModel() + " chunk where " + model + " weights travel");
      return malformation(c);
    };
  }

  private Optional<String> malformation(WeightChunk c) {
    long total = c.getTotalBytes();
    int count = c.getChunkCount();
    int length = c.getData().remaining();
    if (c.getVersion() < 0) return Optional.of("version " + c.getVersion());
    if (total < 0 || total > limits.maxSnapshotBytes())
      return Optional.of("totalBytes " + total + " outside 0.." + limits.maxSnapshotBytes());
    if (count < 1 || count > Math.max(1, total))
      return Optional.of("chunkCount " + count + " for " + total + " bytes");
    if ((long) count * limits.maxChunkBytes() < total)
      return Optional.of(
          count + " chunks of at most " + limits.maxChunkBytes() + " bytes cannot hold " + total);
    if (c.getChunkIndex() < 0 || c.getChunkIndex() >= count)
      return Optional.of("chunkIndex " + c.getChunkIndex() + " of " + count);
    if (length > limits.maxChunkBytes() || length > total)
      return Optional.of(
          "chunk of "
              + length
              + " bytes (at most "
              + Math.min(limits.maxChunkBytes(), total)
              + ")");
    if (c.getSha256() == null) return Optional.of("no sha256");
    return Optional.empty();
  }

  /**
   * Takes one chunk; returns the snapshot this chunk completed, if it completed and verified one.
   */
  public Optional<PublishedWeights> accept(WeightChunk chunk) {
    if (chunk.getModel() != model) {
      counts.foreign++;
      return Optional.empty();
    }
    if (malformation(chunk).isPresent()) {
      counts.malformed++;
      return Optional.empty();
    }
    long version = chunk.getVersion();
    if (version <= latestVersion) {
      counts.stale++;
      return Optional.empty();
    }
    if (tooFarAhead(version)) {
      counts.tooFarAhead++;
      return Optional.empty();
    }
    var partial = partials.get(version); // touches it: the least recently touched goes first
    if (partial == null) {
      if (partials.size() >= limits.maxPartialVersions()) {
        var eldest = partials.keySet().iterator().next();
        partials.remove(eldest);
        counts.abandoned++;
      }
      partial = new Partial(chunk);
      partials.put(version, partial);
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
    partials.remove(version);
    // this version arrived whole after every chunk an older partial one got: the rest won't come
    dropPartials(v -> v < version);
    var bytes = partial.verified();
    if (bytes == null) {
      counts.failedVerification++;
      return Optional.empty();
    }
    latestVersion = version;
    counts.completed++;
    dropPartials(this::tooFarAhead);
    return Optional.of(
        new PublishedWeights(model, version, bytes, partial.meta, partial.publishedAt));
  }

  /** Whether a chunk of {@code version} would be collected: not stale, not too far ahead. */
  public boolean admits(long version) {
    return version > latestVersion && !tooFarAhead(version);
  }

  private boolean tooFarAhead(long version) {
    return latestVersion >= 0 && version - latestVersion > limits.maxVersionsAhead();
  }

  private void dropPartials(LongPredicate which) {
    for (var it = partials.keySet().iterator(); it.hasNext(); ) {
      if (which.test(it.next())) {
        it.remove();
        counts.abandoned++;
      }
    }
  }

  public Limits limits() {
    return limits;
  }

  /** The newest version this assembler completed, if any. */
  public OptionalLong latestVersion() {
    return latestVersion < 0 ? OptionalLong.empty() : OptionalLong.of(latestVersion);
  }

  /** The versions being collected and how many of their chunks are in, for progress logs. */
  public Optional<String> pending() {
    return partials.isEmpty()
        ? Optional.empty()
        : Optional.of(
            partials.values().stream()
                .sorted(Comparator.comparingLong(p -> p.version))
                .map(p -> "v" + p.version + " " + p.received + "/" + p.count + " chunks")
                .collect(Collectors.joining(", ")));
  }

  /** Bytes the incomplete versions hold: what their chunks brought, never what they claim. */
  public long heldBytes() {
    return partials.values().stream().mapToLong(p -> p.heldBytes).sum();
  }

  public WeightCounts counts() {
    return new WeightCounts(
        counts.completed,
        counts.stale,
        counts.foreign,
        counts.malformed,
        counts.abandoned,
        counts.failedVerification,
        counts.tooFarAhead);
  }

  /**
   * What the assembler saw: versions completed; chunks dropped as stale (older than the newest
   * version), foreign (another model) or malformed (bad indices, sizes or headers that disagree
   * within a version); partial versions abandoned (for a newer whole one, or to make room);
   * versions whose reassembled bytes failed the length or SHA-256 check; chunks of versions too far
   * past the newest.
   */
  public record WeightCounts(
      long completed,
      long stale,
      long foreign,
      long malformed,
      long abandoned,
      long failedVerification,
      long tooFarAhead) {

    /** For a log line: the versions completed, then only the counts that are not zero. */
    @Override
    public String toString() {
      var parts = new java.util.ArrayList<String>();
      parts.add(completed + (completed == 1 ? " version" : " versions") + " completed");
      if (stale > 0) parts.add(stale + " stale chunks dropped");
      if (foreign > 0) parts.add(foreign + " chunks of another model dropped");
      if (malformed > 0) parts.add(malformed + " malformed chunks dropped");
      if (abandoned > 0) parts.add(abandoned + " partial versions abandoned");
      if (failedVerification > 0)
        parts.add(failedVerification + " versions failed their SHA-256 check");
      if (tooFarAhead > 0) parts.add(tooFarAhead + " chunks too far ahead dropped");
      return String.join(", ", parts);
    }
  }

  private static final class Counts {
    long completed, stale, foreign, malformed, abandoned, failedVerification, tooFarAhead;
  }

  /**
   * The chunks of one version collected so far, kept as they arrived (the decoded record's own
   * buffer, not copied), and hashed as soon as every chunk before them is in: chunks in index order
   * (one partition) are hashed as they come; chunks spread over partitions, arriving a batch of
   * each partition per fetch, are hashed as soon as the gap before them closes. On completion the
   * chunks are copied once into the snapshot's array, if they tile it exactly (every chunk but the
   * last of one size, the last no larger, summing to the total).
   */
  private static final class Partial {
    final long version;
    final byte[] sha256;
    final Map<String, String> meta;
    final Instant publishedAt;
    final long total;
    final int count;
    final ByteBuffer[] chunks;
    final MessageDigest digest = WeightChunker.newSha256();
    int received;
    int hashed;
    long heldBytes;

    Partial(WeightChunk first) {
      this.version = first.getVersion();
      this.sha256 = first.getSha256().bytes().clone();
      this.meta = Map.copyOf(first.getMeta());
      this.publishedAt = first.getPublishedAt();
      this.total = first.getTotalBytes();
      this.count = first.getChunkCount();
      this.chunks = new ByteBuffer[count];
    }

    boolean sameVersionHeader(WeightChunk c) {
      return c.getChunkCount() == count
          && c.getTotalBytes() == total
          && MessageDigest.isEqual(c.getSha256().bytes(), sha256);
    }

    /** Stores the chunk; false when it would hold more bytes than the version has. */
    boolean put(WeightChunk c) {
      var data = c.getData().slice();
      int index = c.getChunkIndex();
      var previous = chunks[index];
      long held = heldBytes - (previous == null ? 0 : previous.remaining()) + data.remaining();
      if (held > total) {
        return false;
      }
      if (previous == null) {
        received++;
      } else if (index < hashed) {
        digest.reset(); // a redelivered chunk replaces bytes already hashed: hash again from the
        hashed = 0; // start
      }
      chunks[index] = data;
      heldBytes = held;
      hashInOrder();
      return true;
    }

    private void hashInOrder() {
      while (hashed < count && chunks[hashed] != null) {
        digest.update(chunks[hashed].duplicate());
        hashed++;
      }
    }

    /** The whole snapshot if its chunks tile it exactly and its SHA-256 matches; else null. */
    byte[] verified() {
      int size = chunks[0].remaining();
      for (int i = 0; i < count - 1; i++) {
        if (chunks[i].remaining() != size) return null;
      }
      int last = chunks[count - 1].remaining();
      if (heldBytes != total || (count > 1 && (last > size || last == 0))) return null;
      hashInOrder();
      if (!MessageDigest.isEqual(digest.digest(), sha256)) return null;
      var bytes = new byte[(int) total]; // total ≤ maxSnapshotBytes
      int offset = 0;
      for (var chunk : chunks) {
        int length = chunk.remaining();
        chunk.duplicate().get(bytes, offset, length);
        offset += length;
      }
      return bytes;
    }
  }
}
