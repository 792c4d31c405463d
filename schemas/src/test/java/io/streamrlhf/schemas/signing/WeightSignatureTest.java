package io.streamrlhf.schemas.signing;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamrlhf.schemas.AvroCodec;
import io.streamrlhf.schemas.PublishedWeights;
import io.streamrlhf.schemas.WeightChunk;
import io.streamrlhf.schemas.WeightChunker;
import io.streamrlhf.schemas.WeightModel;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

class WeightSignatureTest {
  private static final WeightSigner LEARNER = WeightSigner.generate();
  private static final AvroCodec<WeightChunk> CODEC = AvroCodec.of(WeightChunk.class);

  private static PublishedWeights weights(long version) {
    var bytes = new byte[10_000];
    new Random(version).nextBytes(bytes);
    return new PublishedWeights(
        WeightModel.POLICY,
        version,
        bytes,
        Map.of(PublishedWeights.META_MODEL_CONFIG, "{\"d_model\":16}"),
        Instant.ofEpochMilli(1_000 + version));
  }

  /** Chunks as a reader sees them: encoded and decoded again, as they cross Kafka. */
  private static List<WeightChunk> chunks(PublishedWeights w) {
    return WeightChunker.split(w, 4096).stream().map(c -> CODEC.decode(CODEC.encode(c))).toList();
  }

  private static PublishedWeights withMeta(PublishedWeights w, String key, String value) {
    var meta = new HashMap<>(w.meta());
    meta.put(key, value);
    return new PublishedWeights(w.model(), w.version(), w.bytes(), meta, w.publishedAt());
  }

  @Test
  void aSignedVersionPassesWholeAndChunkByChunk() {
    var signed = LEARNER.sign(weights(3));
    var verifier = WeightVerifier.trusting(LEARNER.publicKey());

    assertThat(signed.meta())
        .containsEntry(PublishedWeights.META_SIGNING_KEY, LEARNER.keyId())
        .containsKey(PublishedWeights.META_SIGNATURE)
        .containsEntry(PublishedWeights.META_MODEL_CONFIG, "{\"d_model\":16}");
    assertThat(verifier.rejection(signed)).isEmpty();
    assertThat(chunks(signed))
        .hasSize(3)
        .allSatisfy(c -> assertThat(verifier.rejection(c)).isEmpty());
  }

  @Test
  void tamperedBytesFailTheWholeVersionCheck() {
    var signed = LEARNER.sign(weights(3));
    var bytes = signed.bytes().clone();
    bytes[5_000] ^= 0x01;
    var tampered =
        new PublishedWeights(
            signed.model(), signed.version(), bytes, signed.meta(), signed.publishedAt());

    assertThat(WeightVerifier.trusting(LEARNER.publicKey()).rejection(tampered))
        .hasValueSatisfying(
            r -> assertThat(r).contains("does not verify").contains(LEARNER.keyId()));
  }

  @Test
  void signingWithTheHashAlreadyComputedSignsTheSameMessage() {
    var w = weights(4);
    var signed = LEARNER.sign(w, WeightChunker.sha256(w.bytes()));
    assertThat(WeightVerifier.trusting(LEARNER.publicKey()).rejection(signed)).isEmpty();
  }

  /**
   * An assembled version is checked over the SHA-256 its assembler computed, without hashing the
   * bytes again: right hash and header pass; a hash other than the signed one, or altered meta, do
   * not.
   */
  @Test
  void anAssembledVersionIsCheckedOverTheAssemblersHash() {
    var signed = LEARNER.sign(weights(5));
    var sha256 = WeightChunker.sha256(signed.bytes());
    var verifier = WeightVerifier.trusting(LEARNER.publicKey());

    assertThat(verifier.rejectionOfAssembled(signed, sha256)).isEmpty();
    var other = WeightChunker.sha256(weights(6).bytes());
    assertThat(verifier.rejectionOfAssembled(signed, other))
        .hasValueSatisfying(r -> assertThat(r).contains("does not verify"));
    assertThat(verifier.rejectionOfAssembled(withMeta(signed, "reward_mean", "9"), sha256))
        .isPresent();
    assertThat(WeightVerifier.acceptingUnsigned().rejectionOfAssembled(weights(7), other))
        .isEmpty();
  }

  @Test
  void aChangedVersionNumberOrMetaFailsEvenOnAChunk() {
    var signed = LEARNER.sign(weights(3));
    var verifier = WeightVerifier.trusting(LEARNER.publicKey());
    var chunk = chunks(signed).get(0);
    chunk.setVersion(Long.MAX_VALUE); // a genuine signature replayed on a version that blocks all

    assertThat(verifier.rejection(chunk)).isPresent();
    assertThat(verifier.rejection(withMeta(signed, PublishedWeights.META_MODEL_CONFIG, "{}")))
        .isPresent();
  }

  @Test
  void anotherKeysSignatureIsRejectedAndNamed() {
    var forger = WeightSigner.generate();
    var forged = forger.sign(weights(4));

    var rejection = WeightVerifier.trusting(LEARNER.publicKey()).rejection(forged);

    assertThat(rejection)
        .hasValueSatisfying(r -> assertThat(r).contains(forger.keyId()).contains(LEARNER.keyId()));
    assertThat(WeightVerifier.trusting(LEARNER.publicKey()).rejection(chunks(forged).get(1)))
        .isPresent();
  }

  @Test
  void aForgerClaimingTheTrustedKeyIdIsStillRejected() {
    var forger = WeightSigner.generate();
    var forged = forger.sign(weights(4));
    var claimed = withMeta(forged, PublishedWeights.META_SIGNING_KEY, LEARNER.keyId());

    assertThat(WeightVerifier.trusting(LEARNER.publicKey()).rejection(claimed)).isPresent();
  }

  @Test
  void aMissingOrGarbledSignatureIsRejectedOnlyWhenAKeyIsTrusted() {
    var unsigned = weights(5);
    var garbled = withMeta(LEARNER.sign(weights(5)), PublishedWeights.META_SIGNATURE, "%%%");
    var strict = WeightVerifier.trusting(LEARNER.publicKey());
    var lax = WeightVerifier.acceptingUnsigned();

    assertThat(strict.rejection(unsigned))
        .hasValueSatisfying(r -> assertThat(r).startsWith("unsigned"));
    assertThat(strict.rejection(chunks(unsigned).get(0))).isPresent();
    assertThat(strict.rejection(garbled)).isPresent();
    assertThat(lax.checksSignatures()).isFalse();
    assertThat(lax.rejection(unsigned)).isEmpty();
    assertThat(lax.rejection(garbled)).isEmpty();
  }

  @Test
  void reSigningReplacesAnEarlierSignature() {
    var forger = WeightSigner.generate();
    var resigned = LEARNER.sign(forger.sign(weights(6)));

    assertThat(WeightVerifier.trusting(LEARNER.publicKey()).rejection(resigned)).isEmpty();
    assertThat(WeightVerifier.trusting(forger.publicKey()).rejection(resigned)).isPresent();
  }
}
