package io.streamrlhf.schemas;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.Test;

class WeightAssemblerTest {
  private static final AvroCodec<WeightChunk> CODEC = AvroCodec.of(WeightChunk.class);

  private static PublishedWeights snapshot(long version, int size) {
    var bytes = new byte[size];
    new Random(version).nextBytes(bytes);
    return new PublishedWeights(
        WeightModel.POLICY,
        version,
        bytes,
        Map.of("preset", "tiny"),
        Instant.ofEpochMilli(version));
  }

  /** Chunks as a reader sees them: encoded and decoded again, as they cross Kafka. */
  private static List<WeightChunk> chunks(PublishedWeights s, int chunkBytes) {
    var out = new ArrayList<WeightChunk>();
    for (var c : WeightChunker.split(s, chunkBytes)) {
      out.add(CODEC.decode(CODEC.encode(c)));
    }
    return out;
  }

  private static List<PublishedWeights> feed(WeightAssembler assembler, List<WeightChunk> chunks) {
    var done = new ArrayList<PublishedWeights>();
    for (var c : chunks) {
      assembler.accept(c).ifPresent(done::add);
    }
    return done;
  }

  @Test
  void splitCutsAtTheChunkSizeAndKeepsTheRemainderInTheLastChunk() {
    var chunks = WeightChunker.split(snapshot(1, 1_000_001), 250_000);

    assertThat(chunks)
        .extracting(c -> c.getData().remaining())
        .containsExactly(250_000, 250_000, 250_000, 250_000, 1);
    assertThat(chunks)
        .allSatisfy(
            c -> {
              assertThat(c.getChunkCount()).isEqualTo(5);
              assertThat(c.getTotalBytes()).isEqualTo(1_000_001L);
            });
    assertThat(chunks).extracting(WeightChunk::getChunkIndex).containsExactly(0, 1, 2, 3, 4);
    assertThat(WeightChunker.key(chunks.get(3))).isEqualTo("policy/3");
  }

  @Test
  void defaultChunksEncodeWellUnderKafkasRecordLimit() {
    var chunks = WeightChunker.split(snapshot(1, 3 << 20));

    assertThat(chunks).hasSize(12);
    assertThat(chunks)
        .allSatisfy(
            c -> assertThat(CODEC.encode(c).length).isLessThan(Topics.MAX_RECORD_BYTES / 2));
  }

  @Test
  void allChunksInAnyOrderYieldTheExactSnapshotOnce() {
    var s = snapshot(3, 100_003);
    var chunks = chunks(s, 7_000);
    Collections.shuffle(chunks, new Random(1));
    var assembler = new WeightAssembler(WeightModel.POLICY);

    var done = feed(assembler, chunks);

    assertThat(done).hasSize(1);
    assertThat(done.get(0).bytes()).isEqualTo(s.bytes());
    assertThat(done.get(0).version()).isEqualTo(3);
    assertThat(done.get(0).meta()).isEqualTo(Map.of("preset", "tiny"));
    assertThat(done.get(0).publishedAt()).isEqualTo(s.publishedAt());
    assertThat(assembler.latestVersion()).hasValue(3);
  }

  @Test
  void anEmptySnapshotTravelsAsOneEmptyChunk() {
    var s = snapshot(0, 0);
    var done = feed(new WeightAssembler(WeightModel.POLICY), chunks(s, 10));

    assertThat(done).singleElement().satisfies(d -> assertThat(d.bytes()).isEmpty());
  }

  @Test
  void aMissingChunkNeverYieldsAVersionAndTheNextWholeVersionStillDoes() {
    var assembler = new WeightAssembler(WeightModel.POLICY);
    var v1 = chunks(snapshot(1, 50_000), 8_000);
    var v2 = chunks(snapshot(2, 50_000), 8_000);
    v2.remove(4);
    var v3 = snapshot(3, 50_000);

    assertThat(feed(assembler, v1)).hasSize(1);
    assertThat(feed(assembler, v2)).isEmpty();
    assertThat(assembler.latestVersion()).hasValue(1);
    assertThat(assembler.pending()).hasValue("v2 6/7 chunks");

    var done = feed(assembler, chunks(v3, 8_000));
    assertThat(done).singleElement().satisfies(d -> assertThat(d.bytes()).isEqualTo(v3.bytes()));
    assertThat(assembler.counts().abandoned()).isEqualTo(1);
  }

  @Test
  void aCorruptedChunkFailsTheChecksumAndTheLastGoodVersionStays() {
    var assembler = new WeightAssembler(WeightModel.POLICY);
    feed(assembler, chunks(snapshot(1, 50_000), 8_000));
    var v2 = chunks(snapshot(2, 50_000), 8_000);
    var bad = v2.get(2);
    var data = new byte[bad.getData().remaining()];
    bad.getData().duplicate().get(data);
    data[123] ^= 0x10; // one flipped bit
    bad.setData(ByteBuffer.wrap(data));

    assertThat(feed(assembler, v2)).isEmpty();
    assertThat(assembler.latestVersion()).hasValue(1);
    assertThat(assembler.counts().failedVerification()).isEqualTo(1);
    assertThat(assembler.pending()).isEmpty();
  }

  @Test
  void aChunkWhoseLengthDisagreesWithTheTotalNeverYieldsAVersion() {
    var assembler = new WeightAssembler(WeightModel.POLICY);
    var v1 = chunks(snapshot(1, 20_000), 8_000);
    v1.get(2)
        .setData(ByteBuffer.wrap(new byte[10])); // last chunk cut short: 16_010 of 20_000 bytes

    assertThat(feed(assembler, v1)).isEmpty();
    assertThat(assembler.counts().failedVerification()).isEqualTo(1);
  }

  @Test
  void aNewerVersionSupersedesAPartialOlderOneWhoseLateChunksAreThenIgnored() {
    var assembler = new WeightAssembler(WeightModel.POLICY);
    var v2 = chunks(snapshot(2, 40_000), 8_000);
    var v3 = snapshot(3, 40_000);

    feed(assembler, v2.subList(0, 3));
    var done = feed(assembler, chunks(v3, 8_000));
    var late = feed(assembler, v2.subList(3, 5));

    assertThat(done).singleElement().extracting(PublishedWeights::version).isEqualTo(3L);
    assertThat(late).isEmpty();
    assertThat(assembler.latestVersion()).hasValue(3);
    assertThat(assembler.counts().stale()).isEqualTo(2);
    assertThat(assembler.pending()).isEmpty();
    // what a quiet subscriber's log line shows: words, and only the counts that happened
    assertThat(assembler.counts())
        .hasToString("1 version completed, 2 stale chunks dropped, 1 partial versions abandoned");
  }

  @Test
  void anOlderVersionArrivingWholeAfterANewerOneIsIgnored() {
    var assembler = new WeightAssembler(WeightModel.POLICY);
    feed(assembler, chunks(snapshot(5, 10_000), 4_000));

    assertThat(feed(assembler, chunks(snapshot(4, 10_000), 4_000))).isEmpty();
    assertThat(feed(assembler, chunks(snapshot(5, 10_000), 4_000))).isEmpty();
    assertThat(assembler.latestVersion()).hasValue(5);
  }

  @Test
  void aRedeliveredChunkDoesNotCountTwice() {
    var assembler = new WeightAssembler(WeightModel.POLICY);
    var s = snapshot(1, 20_000);
    var v1 = chunks(s, 8_000);
    var withDuplicates = List.of(v1.get(0), v1.get(0), v1.get(1), v1.get(1), v1.get(2));

    assertThat(feed(assembler, withDuplicates))
        .singleElement()
        .satisfies(d -> assertThat(d.bytes()).isEqualTo(s.bytes()));
  }

  /** {@code chunk} as a copy whose data bytes are {@code data}, its header left as it was. */
  private static WeightChunk withData(WeightChunk chunk, byte... data) {
    var copy = CODEC.decode(CODEC.encode(chunk));
    copy.setData(ByteBuffer.wrap(data));
    return copy;
  }

  @Test
  void aRedeliveredChunkWithOtherBytesIsHashedAgainSoForgedBytesNeverPass() {
    // the signature covers a chunk's header, not its data: only the SHA-256 over the bytes
    // actually kept stands between a redelivered forgery and the model
    var assembler = new WeightAssembler(WeightModel.POLICY);
    var s = snapshot(1, 8);
    var v1 = chunks(s, 4);
    var forged = withData(v1.get(0), (byte) 9, (byte) 9, (byte) 9, (byte) 9);

    assertThat(feed(assembler, List.of(v1.get(0), forged, v1.get(1)))).isEmpty();
    assertThat(assembler.counts().failedVerification()).isEqualTo(1);

    // and the good bytes sent again after a forged one still make the version
    var again = new WeightAssembler(WeightModel.POLICY);
    var s12 = snapshot(2, 12);
    var v2 = chunks(s12, 4);
    var bad = withData(v2.get(1), (byte) 1, (byte) 2, (byte) 3, (byte) 4);
    assertThat(feed(again, List.of(v2.get(0), bad, v2.get(1), v2.get(2))))
        .singleElement()
        .satisfies(d -> assertThat(d.bytes()).isEqualTo(s12.bytes()));
  }

  @Test
  void chunksThatDisagreeWithTheirVersionsHeaderOrOtherModelsAreDropped() {
    var assembler = new WeightAssembler(WeightModel.POLICY);
    var v1 = chunks(snapshot(1, 20_000), 8_000);
    var liar = CODEC.decode(CODEC.encode(v1.get(1)));
    liar.setChunkCount(4);
    var reward = CODEC.decode(CODEC.encode(v1.get(1)));
    reward.setModel(WeightModel.REWARD);
    var outOfRange = CODEC.decode(CODEC.encode(v1.get(1)));
    outOfRange.setChunkIndex(3);

    Optional<PublishedWeights> none = Optional.empty();
    assertThat(assembler.accept(v1.get(0))).isEqualTo(none);
    assertThat(assembler.accept(liar)).isEqualTo(none);
    assertThat(assembler.accept(reward)).isEqualTo(none);
    assertThat(assembler.accept(outOfRange)).isEqualTo(none);
    assertThat(assembler.counts().malformed()).isEqualTo(2);
    assertThat(assembler.counts().foreign()).isEqualTo(1);
    assertThat(feed(assembler, v1.subList(1, 3))).hasSize(1);
  }

  @Test
  void aChunkOfTheSameVersionAndSizesButAnotherSha256IsMalformedAndTheFirstVersionStillCompletes() {
    // two snapshots both numbered v1, 8 bytes in 2 chunks of 4: same count and total, other
    // SHA-256. The other's chunk must not join the first's (mixed bytes, a failed check and the
    // first's good chunk lost with it); it is malformed, and the first completes unmixed
    var first = snapshot(1, 8);
    var otherBytes = new byte[8];
    new Random(99).nextBytes(otherBytes);
    var other =
        new PublishedWeights(WeightModel.POLICY, 1, otherBytes, first.meta(), first.publishedAt());
    var a = chunks(first, 4);
    var b = chunks(other, 4);
    assertThat(b.get(1).getChunkCount()).isEqualTo(2);
    assertThat(b.get(1).getTotalBytes()).isEqualTo(8L);
    var assembler = new WeightAssembler(WeightModel.POLICY);

    var done = feed(assembler, List.of(a.get(0), b.get(1), a.get(1)));

    assertThat(done).singleElement().satisfies(d -> assertThat(d.bytes()).isEqualTo(first.bytes()));
    assertThat(assembler.counts().malformed()).isEqualTo(1);
    assertThat(assembler.counts().failedVerification()).isZero();
  }

  @Test
  void aChunkClaimingMoreBytesThanTheCapIsDroppedWithoutAllocating() {
    var assembler = new WeightAssembler(WeightModel.POLICY, 1_000);
    var big = chunks(snapshot(1, 2_000), 1_000);

    assertThat(feed(assembler, big)).isEmpty();
    assertThat(assembler.counts().malformed()).isEqualTo(2);
    assertThat(assembler.pending()).isEmpty();
  }

  @Test
  void
      aCorruptedChunkReplacedByItsRedeliveryBeforeTheVersionCompletesStillYieldsTheExactSnapshot() {
    var s = snapshot(4, 30_000);
    var v4 = chunks(s, 8_000); // 4 chunks, hashed as they arrive in order
    var bad = WeightChunk.newBuilder(v4.get(1)).setData(ByteBuffer.wrap(new byte[8_000])).build();
    var assembler = new WeightAssembler(WeightModel.POLICY);

    var done = feed(assembler, List.of(v4.get(0), bad, v4.get(2), v4.get(1), v4.get(3)));

    assertThat(done).hasSize(1);
    assertThat(done.get(0).bytes()).isEqualTo(s.bytes());
    assertThat(assembler.counts().failedVerification()).isZero();
  }

  @Test
  void theLastChunkFirstThenTheRestBackwardsYieldsTheExactSnapshot() {
    var s = snapshot(5, 25_001);
    var v5 = new ArrayList<>(chunks(s, 6_000));
    Collections.reverse(v5);
    var assembler = new WeightAssembler(WeightModel.POLICY);

    var done = feed(assembler, v5);

    assertThat(done).hasSize(1);
    assertThat(done.get(0).bytes()).isEqualTo(s.bytes());
  }

  @Test
  void aMiddleChunkOfTheWrongLengthNeverYieldsAVersion() {
    var assembler = new WeightAssembler(WeightModel.POLICY);
    var v1 = chunks(snapshot(1, 20_000), 6_000); // 6000, 6000, 6000, 2000
    v1.set(1, WeightChunk.newBuilder(v1.get(1)).setData(ByteBuffer.wrap(new byte[5_000])).build());
    v1.set(
        3,
        WeightChunk.newBuilder(v1.get(3))
            .setData(ByteBuffer.wrap(new byte[3_000]))
            .build()); // sums to 20_000

    assertThat(feed(assembler, v1)).isEmpty();
    assertThat(assembler.counts().failedVerification()).isEqualTo(1);
  }

  /**
   * One chunk of a version that never completes: index 0 of {@code count}, claiming {@code total}.
   */
  private static WeightChunk forgedChunk(long version, int count, long total, int dataBytes) {
    return WeightChunk.newBuilder()
        .setModel(WeightModel.POLICY)
        .setVersion(version)
        .setChunkIndex(0)
        .setChunkCount(count)
        .setTotalBytes(total)
        .setSha256(new Sha256(new byte[32]))
        .setData(ByteBuffer.wrap(new byte[dataBytes]))
        .setPublishedAt(Instant.EPOCH)
        .setMeta(Map.of())
        .build();
  }

  @Test
  void anIncompleteVersionFarAheadNeverBlocksACompleteSmallerOne() {
    var assembler = new WeightAssembler(WeightModel.POLICY);
    var forged = forgedChunk(Long.MAX_VALUE, 2, 2_000, 1_000);
    var v1 = snapshot(1, 20_000);
    var v2 = snapshot(2, 20_000);

    assertThat(assembler.accept(forged)).isEmpty();
    assertThat(feed(assembler, chunks(v1, 8_000)))
        .singleElement()
        .satisfies(d -> assertThat(d.bytes()).isEqualTo(v1.bytes()));
    // once v1 is whole, the forged version is too far past it: dropped, and refused from now on
    assertThat(assembler.pending()).isEmpty();
    assertThat(assembler.accept(forged)).isEmpty();
    assertThat(assembler.counts().tooFarAhead()).isEqualTo(1);
    assertThat(feed(assembler, chunks(v2, 8_000)))
        .singleElement()
        .extracting(PublishedWeights::version)
        .isEqualTo(2L);
  }

  @Test
  void aVersionMoreThanTheLimitPastTheNewestIsRefusedAndOneWithinItIsTaken() {
    var limits = new WeightAssembler.Limits(WeightChunker.MAX_CHUNK_BYTES, 1 << 20, 3, 5);
    var assembler = new WeightAssembler(WeightModel.POLICY, limits);
    feed(assembler, chunks(snapshot(1, 10_000), 4_000));

    assertThat(feed(assembler, chunks(snapshot(7, 10_000), 4_000))).isEmpty();
    assertThat(assembler.counts().tooFarAhead()).isEqualTo(3);
    assertThat(feed(assembler, chunks(snapshot(6, 10_000), 4_000))).hasSize(1);
    assertThat(assembler.latestVersion()).hasValue(6);
  }

  @Test
  void beforeAnyVersionCompletesNoVersionIsTooFarAhead() {
    var assembler = new WeightAssembler(WeightModel.POLICY);

    // a late joiner's first version may be any number
    assertThat(feed(assembler, chunks(snapshot(1_000_000, 10_000), 4_000))).hasSize(1);
  }

  @Test
  void atMostTheLimitOfPartialVersionsIsHeldAndTheLeastRecentlyFedOneGoes() {
    var limits = new WeightAssembler.Limits(WeightChunker.MAX_CHUNK_BYTES, 1 << 20, 2, 100);
    var assembler = new WeightAssembler(WeightModel.POLICY, limits);
    var v5 = chunks(snapshot(5, 12_000), 4_000);
    var v6 = chunks(snapshot(6, 12_000), 4_000);
    var v7 = chunks(snapshot(7, 12_000), 4_000);

    feed(assembler, List.of(v5.get(0), v6.get(0), v5.get(1), v7.get(0)));

    assertThat(assembler.counts().abandoned()).isEqualTo(1);
    assertThat(assembler.pending()).hasValue("v5 2/3 chunks, v7 1/3 chunks");
    assertThat(assembler.accept(v5.get(2)))
        .hasValueSatisfying(d -> assertThat(d.version()).isEqualTo(5));
    assertThat(feed(assembler, v7.subList(1, 3)))
        .singleElement()
        .extracting(PublishedWeights::version)
        .isEqualTo(7L);
  }

  @Test
  void aChunkLargerThanTheChunkLimitIsMalformedAndTheCheckSaysWhy() {
    var limits = new WeightAssembler.Limits(1_000, 1 << 20, 3, 100);
    var assembler = new WeightAssembler(WeightModel.POLICY, limits);
    var big = chunks(snapshot(1, 4_000), 2_000);

    assertThat(assembler.check().problem(forgedChunk(1, 4, 4_000, 2_000)))
        .hasValue("chunk of 2000 bytes (at most 1000)");
    assertThat(assembler.check().problem(big.get(0)))
        .hasValue("2 chunks of at most 1000 bytes cannot hold 4000");
    assertThat(feed(assembler, big)).isEmpty();
    assertThat(assembler.counts().malformed()).isEqualTo(2);
    assertThat(feed(assembler, chunks(snapshot(1, 4_000), 1_000))).hasSize(1);
  }

  @Test
  void theCheckRefusesWhatNoVersionCouldBeMadeOf() {
    var assembler = new WeightAssembler(WeightModel.POLICY);
    var check = assembler.check();
    var reward = chunks(snapshot(1, 100), 100).get(0);
    reward.setModel(WeightModel.REWARD);

    assertThat(check.problem(chunks(snapshot(1, 100), 100).get(0))).isEmpty();
    assertThat(check.problem(reward)).hasValue("a REWARD chunk where POLICY weights travel");
    assertThat(check.problem(forgedChunk(-1, 1, 10, 10))).hasValue("version -1");
    assertThat(check.problem(forgedChunk(1, 1, 1L << 40, 10)))
        .hasValue("totalBytes 1099511627776 outside 0.." + WeightAssembler.MAX_SNAPSHOT_BYTES);
    assertThat(check.problem(forgedChunk(1, 1, 10_000_000, 10)))
        .hasValue(
            "1 chunks of at most " + WeightChunker.MAX_CHUNK_BYTES + " bytes cannot hold 10000000");
  }

  @Test
  void aForgedHeaderHoldsOnlyTheBytesItsChunksBrought() {
    var assembler = new WeightAssembler(WeightModel.POLICY);

    // claims 2 GiB: nothing of that size is allocated for it
    assertThat(assembler.accept(forgedChunk(3, 4_000, WeightAssembler.MAX_SNAPSHOT_BYTES, 1_000)))
        .isEmpty();
    assertThat(assembler.heldBytes()).isEqualTo(1_000);
    assertThat(assembler.pending()).hasValue("v3 1/4000 chunks");
  }
}
