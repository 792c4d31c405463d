package io.streamrlhf.schemas.transport;

import io.streamrlhf.schemas.AvroCodec;
import io.streamrlhf.schemas.PublishedWeights;
import io.streamrlhf.schemas.Topics;
import io.streamrlhf.schemas.WeightAssembler;
import io.streamrlhf.schemas.WeightChunk;
import io.streamrlhf.schemas.WeightModel;
import io.streamrlhf.schemas.WeightStore;
import io.streamrlhf.schemas.signing.WeightVerifier;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TimeoutException;

/**
 * The reading side of a weight topic: reads every chunk, on every partition, from the beginning of
 * the (compacted) topic and hands out whole, verified versions as {@link WeightAssembler} completes
 * them. A late joiner therefore starts from the newest version still in the log.
 *
 * <p>With a {@link WeightVerifier} that trusts a key, a chunk whose header is not signed by it
 * never reaches the assembler (so a forged version can neither be applied nor, numbered {@code
 * Long.MAX_VALUE}, make every genuine later version look stale), and a completed version's
 * signature is checked again, over the SHA-256 its assembler computed from the bytes as they
 * arrived, before it is handed out. Each rejected version is reported once.
 *
 * <p>A version whose bytes are in a {@link WeightStore} arrives as a signed pointer: once the
 * pointer is admitted, the feed reads the bytes from its own store, checks their length and SHA-256
 * against the pointer's, and hands out the version with them. A pointer it cannot resolve (a pruned
 * or changed object) is reported like a rejected version, except one the store pruned for newer
 * objects it holds: a late joiner's backlog names objects long pruned, and those are counted and
 * told in one line with the version read after them. An admitted pointer at a reader without a
 * store throws {@link NoStoreException}. Of the versions one poll completes the newest is resolved
 * first, an older one only when the newer one's object is unusable: the others are superseded
 * before they could be applied.
 *
 * <p>Borrows a consumer configured by {@link KafkaClientConfigs#weightsConsumer} (no group: every
 * reader sees every chunk) and assigns it every partition of the weight topic itself.
 */
public final class WeightFeed {
  private final Consumer<byte[], byte[]> consumer;
  private final DecodingConsumer<WeightChunk> chunks;
  private final WeightAssembler assembler;
  private final String topic;
  private List<TopicPartition> partitions = List.of();

  /** Reading partition 0 only because the broker did not know the topic yet. */
  private boolean provisional;

  private final WeightModel model;
  private final WeightVerifier verifier;
  private final java.util.function.Consumer<String> rejections;
  private final WeightStore store;

  /** Versions already reported, newest last; bounded, since forgeries could be numbered freely. */
  private final Set<String> reported = new LinkedHashSet<>();

  private long rejectedChunks;

  /** Versions completed but not handed out (superseded) since the last version handed out. */
  private long passedOver;

  /** Whether one of those was a pointer whose object the store had pruned for newer ones. */
  private boolean prunedPassedOver;

  /** Set by {@link #resolve}: the pointer's object is gone because the store holds newer ones. */
  private boolean superseded;

  private static final int REPORTED_KEPT = 64;

  /** The version of the last chunk read from each partition. */
  private final Map<TopicPartition, Long> frontier = new HashMap<>();

  /** When the first chunk of each version still being collected came out of a poll. */
  private final NavigableMap<Long, Long> firstSeen = new TreeMap<>();

  private Receipt lastReceipt;

  /** A feed that applies no signature check (see {@link WeightVerifier#acceptingUnsigned}). */
  public WeightFeed(
      Consumer<byte[], byte[]> consumer,
      WeightModel model,
      Producer<byte[], byte[]> deadLetterProducer,
      String name) {
    this(consumer, model, deadLetterProducer, name, WeightVerifier.acceptingUnsigned(), r -> {});
  }

  /**
   * @param verifier which versions may be handed out
   * @param rejections told once per rejected version, in one line, which and why
   */
  public WeightFeed(
      Consumer<byte[], byte[]> consumer,
      WeightModel model,
      Producer<byte[], byte[]> deadLetterProducer,
      String name,
      WeightVerifier verifier,
      java.util.function.Consumer<String> rejections) {
    this(consumer, model, deadLetterProducer, name, verifier, rejections, null);
  }

  /**
   * @param store where versions published as pointers are read from; null: an admitted pointer
   *     throws {@link NoStoreException} from {@link #poll}
   */
  public WeightFeed(
      Consumer<byte[], byte[]> consumer,
      WeightModel model,
      Producer<byte[], byte[]> deadLetterProducer,
      String name,
      WeightVerifier verifier,
      java.util.function.Consumer<String> rejections,
      WeightStore store) {
    this.store = store;
    this.consumer = consumer;
    this.model = model;
    this.verifier = verifier;
    this.rejections = rejections;
    this.assembler = new WeightAssembler(model);
    this.topic = Topics.weights(model);
    this.chunks =
        new DecodingConsumer<>(
            consumer,
            AvroCodec.of(WeightChunk.class),
            assembler.check(),
            deadLetterProducer,
            name,
            Duration.ofSeconds(30));
    try {
      assign(Duration.ZERO); // at once when the client knows the topic; else at the first poll
    } catch (KafkaException e) {
      // not yet (no metadata, or the broker refused): poll and catchUp ask again
    }
  }

  /**
   * Assigns every partition of the weight topic, from the beginning: a version's chunks are spread
   * over them (see {@link WeightPublisher}), so a reader needs all. A topic the broker does not
   * know (yet: a new topic's metadata reaches a broker a moment after it is created) is read on its
   * partition 0 for now, and every later call asks again until the broker names its partitions;
   * then all of them are read from the beginning (chunks read twice are dropped as stale or replace
   * themselves in the assembler).
   *
   * @throws TimeoutException when the topic's partitions are not known within {@code timeout}
   */
  private void assign(Duration timeout) {
    if (!partitions.isEmpty() && !provisional) return;
    List<org.apache.kafka.common.PartitionInfo> infos;
    try {
      infos = consumer.partitionsFor(topic, provisional ? Duration.ZERO : timeout);
    } catch (TimeoutException e) {
      if (provisional) return; // still unknown: go on reading partition 0
      throw e;
    }
    if (infos == null || infos.isEmpty()) {
      if (partitions.isEmpty()) {
        partitions = List.of(new TopicPartition(topic, 0));
        consumer.assign(partitions);
        consumer.seekToBeginning(partitions);
        provisional = true;
      }
      return;
    }
    var found = infos.stream().map(i -> new TopicPartition(topic, i.partition())).toList();
    consumer.assign(found);
    consumer.seekToBeginning(found);
    frontier.clear(); // every partition is read again from its beginning
    partitions = found;
    provisional = false;
  }

  /** One poll; the newest version completed by the chunks it returned, if any. */
  public Optional<PublishedWeights> poll(Duration timeout) {
    Optional<PublishedWeights> newest = Optional.empty();
    try {
      assign(timeout);
    } catch (TimeoutException e) {
      return newest; // the broker did not answer yet: nothing to read this round
    }
    inStep();
    var polled = chunks.poll(timeout);
    long polledAt = System.nanoTime();
    var admitted = new ArrayList<Admitted>(); // completed and verified in this poll, oldest first
    for (var decoded : polled) {
      var chunk = decoded.value();
      var forged = verifier.rejection(chunk);
      if (forged.isPresent()) {
        rejectedChunks++;
        reject(
            chunk.getVersion(),
            chunk.getSha256() == null ? null : chunk.getSha256().bytes(),
            forged.get());
        continue;
      }
      // a chunk the assembler refuses sets no pace (numbered far ahead, a forgery would hold its
      // partition back until the others end)
      if (assembler.admits(chunk.getVersion()))
        frontier.put(new TopicPartition(decoded.topic(), decoded.partition()), chunk.getVersion());
      // bounded: chunks of versions that never complete must not cost memory
      if (firstSeen.putIfAbsent(chunk.getVersion(), polledAt) == null && firstSeen.size() > 16)
        firstSeen.pollFirstEntry();
      var done = assembler.accept(chunk);
      if (done.isPresent()) {
        long v = done.get().version();
        long assembledAt = System.nanoTime();
        // the assembler hashed these bytes and found the header's SHA-256: no second pass
        var whole = verifier.rejectionOfAssembled(done.get(), chunk.getSha256().bytes());
        if (whole.isPresent()) reject(v, null, whole.get());
        else
          admitted.add(
              new Admitted(
                  done.get(), firstSeen.getOrDefault(v, polledAt), assembledAt, System.nanoTime()));
        firstSeen.headMap(v, true).clear();
      }
    }
    // the newest first: the versions before it in this poll are superseded, and resolving each
    // would read (for pointers) every one of a backlog's objects; an older one is tried only when
    // the newer one's object is unusable
    for (int i = admitted.size() - 1; i >= 0; i--) {
      var a = admitted.get(i);
      long resolving = System.nanoTime();
      var resolved = resolve(a.weights());
      if (resolved.isPresent()) {
        passedOver += i;
        newest = resolved;
        lastReceipt =
            new Receipt(
                a.weights().version(),
                a.firstChunkAt(),
                polledAt,
                a.assembledAt(),
                a.verifiedAt(),
                a.verifiedAt() + (System.nanoTime() - resolving));
        if (prunedPassedOver) {
          rejections.accept(
              String.format(
                  "%s v%d read after passing over %d older versions on %s (newer ones superseded"
                      + " them; the weight store keeps only the newest %d objects)",
                  model.name().toLowerCase(Locale.ROOT),
                  a.weights().version(),
                  passedOver,
                  topic,
                  WeightStore.KEPT));
        }
        passedOver = 0;
        prunedPassedOver = false;
        break;
      }
      if (superseded) {
        // pruned for newer versions, which follow in the log: so were the older ones of this poll
        passedOver += i + 1;
        prunedPassedOver = true;
        break;
      }
    }
    return newest;
  }

  /**
   * Keeps the partitions of a backlog in step: a partition whose last chunk is of a newer version
   * than the one the slowest partition still to be read is at waits (paused) until that one catches
   * up. Fetches bring each partition's records a few versions at a time, and unevenly; read as they
   * came, one partition ran ahead of the rest by more versions than the assembler collects at once
   * ({@link WeightAssembler.Limits#maxPartialVersions}), and every version of a backlog was
   * abandoned half-collected. Read to its end, a partition (no lag) sets no pace.
   */
  private void inStep() {
    long slowest = Long.MAX_VALUE;
    for (var p : partitions) {
      var at = frontier.get(p);
      var lag = consumer.currentLag(p);
      if (at != null && (lag.isEmpty() || lag.getAsLong() > 0)) slowest = Math.min(slowest, at);
    }
    var ahead = new ArrayList<TopicPartition>();
    var others = new ArrayList<TopicPartition>();
    for (var p : partitions) {
      var at = frontier.get(p);
      (at != null && at > slowest ? ahead : others).add(p);
    }
    if (!ahead.isEmpty()) consumer.pause(ahead);
    consumer.resume(others);
  }

  /**
   * The version with its bytes: as it came, or read from the store its pointer names; empty (and
   * reported) when the object is gone or changed.
   *
   * @throws NoStoreException for a pointer at a reader without a store
   */
  private Optional<PublishedWeights> resolve(PublishedWeights admitted) {
    if (!WeightStore.isPointer(admitted)) return Optional.of(admitted);
    var object = admitted.meta().get(WeightStore.META_OBJECT);
    if (store == null) {
      // every later version will be a pointer too: waiting for one this reader can use is futile
      throw new NoStoreException(
          String.format(
              "%s v%d on %s is a pointer to %s in a weight store, and this reader has none: start"
                  + " it with --weights-store DIR naming the learner's store",
              model.name().toLowerCase(Locale.ROOT), admitted.version(), topic, object));
    }
    superseded = false;
    try {
      return Optional.of(store.fetch(admitted, assembler.limits().maxSnapshotBytes()));
    } catch (WeightStore.MissingObjectException e) {
      // a late joiner reads the log from versions the store has long pruned: with newer objects
      // in the store (their pointers follow in the log) that is expected, and counted, not told
      var newestStored = store.newestVersion(model);
      if (newestStored.isPresent() && newestStored.getAsLong() > admitted.version()) {
        superseded = true;
        return Optional.empty();
      }
      reject(admitted.version(), null, e.getMessage());
      return Optional.empty();
    } catch (WeightStore.StoreException e) {
      reject(admitted.version(), null, e.getMessage());
      return Optional.empty();
    }
  }

  /** A version completed and verified in one poll, with when (see {@link Receipt}). */
  private record Admitted(
      PublishedWeights weights, long firstChunkAt, long assembledAt, long verifiedAt) {}

  /**
   * An admitted version whose bytes are in a weight store reached a reader without one: a
   * misconfiguration no retry mends.
   */
  public static final class NoStoreException extends IllegalStateException {
    public NoStoreException(String message) {
      super(message);
    }
  }

  /**
   * Reports a rejected version once, however many of its chunks arrive and however they interleave
   * with another rejected version's (chunks are spread over partitions, and a poll returns one
   * partition's records after another's).
   */
  private void reject(long version, byte[] sha256, String why) {
    var key = version + "/" + (sha256 == null ? "" : HexFormat.of().formatHex(sha256));
    if (!reported.add(key)) return;
    if (reported.size() > REPORTED_KEPT) reported.remove(reported.iterator().next());
    rejections.accept(
        String.format(
            "rejected %s v%d on %s: %s; keeping the current weights",
            model.name().toLowerCase(Locale.ROOT), version, topic, why));
  }

  /**
   * Reads up to the end of the topic as it is now and returns the newest whole version found there
   * (empty when the log holds none: nothing published yet, or only a torn version).
   *
   * @throws TimeoutException when the end is not reached within the timeout
   */
  public Optional<PublishedWeights> catchUp(Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    assign(timeout);
    var ends = consumer.endOffsets(partitions, remaining(deadline, timeout));
    Optional<PublishedWeights> newest = Optional.empty();
    while (behind(ends, deadline, timeout)) {
      var done = poll(remaining(deadline, timeout));
      if (done.isPresent()) {
        newest = done;
      }
    }
    return newest;
  }

  private boolean behind(Map<TopicPartition, Long> ends, long deadline, Duration timeout) {
    for (var p : partitions) {
      if (consumer.position(p, remaining(deadline, timeout)) < ends.get(p)) return true;
    }
    return false;
  }

  private static Duration remaining(long deadline, Duration timeout) {
    long left = deadline - System.nanoTime();
    if (left <= 0) {
      throw new TimeoutException(
          "weight topic not read to its end within " + Durations.readable(timeout));
    }
    return Duration.ofNanos(left);
  }

  /**
   * When the newest handed-out version's chunks arrived and were put together, as {@link
   * System#nanoTime} of this process: its first chunk out of a poll (decoded), its last one, the
   * moment the assembler completed it (reassembled, SHA-256 checked), the moment the verifier
   * admitted it and the moment its bytes were in hand (read from the store and checked, for a
   * pointer; at once otherwise). For benchmarks that time the weight path in one process.
   */
  public record Receipt(
      long version,
      long firstChunkAt,
      long lastChunkAt,
      long assembledAt,
      long verifiedAt,
      long fetchedAt) {}

  /** The {@link Receipt} of the newest version handed out, if any. */
  public Optional<Receipt> lastReceipt() {
    return Optional.ofNullable(lastReceipt);
  }

  public WeightAssembler assembler() {
    return assembler;
  }

  /** Chunks kept from the assembler because their header was not signed by the trusted key. */
  public long rejectedChunks() {
    return rejectedChunks;
  }

  /**
   * Chunks that did not decode, or were another model's or out of the assembler's limits, and went
   * to the dead-letter topic.
   */
  public long deadLettered() {
    return chunks.deadLettered();
  }
}
