package io.streamrlhf.schemas.signing;

import io.streamrlhf.schemas.PublishedWeights;
import io.streamrlhf.schemas.WeightChunk;
import io.streamrlhf.schemas.WeightModel;
import java.security.PublicKey;
import java.util.Arrays;
import java.util.Base64;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Which weight versions a reader may apply: those signed by the one key it trusts (the publisher's
 * public key, handed over out of band), or, without a key, any (the loop's behaviour before
 * signing; the reader should say so).
 *
 * <p>Checks a chunk's header (what the signature covers travels in every chunk) and a whole
 * version; the SHA-256 the header carries binds the signature to the bytes, which the assembler
 * checks and {@link #rejection(PublishedWeights)} checks again. Remembers the last header it
 * verified, so the chunks of one version cost one Ed25519 verification, not one each. Not
 * thread-safe: one verifier belongs to one reader.
 */
public final class WeightVerifier {
  private final PublicKey trusted;
  private final String trustedId;
  private Header lastVerified;

  private WeightVerifier(PublicKey trusted) {
    this.trusted = trusted;
    this.trustedId = trusted == null ? null : WeightSignature.keyId(trusted);
  }

  /** Admits only versions signed by {@code key}. */
  public static WeightVerifier trusting(PublicKey key) {
    return new WeightVerifier(Objects.requireNonNull(key, "key"));
  }

  /** Admits every version, signed or not, without checking. */
  public static WeightVerifier acceptingUnsigned() {
    return new WeightVerifier(null);
  }

  /** Whether versions are checked at all. */
  public boolean checksSignatures() {
    return trusted != null;
  }

  /** The trusted key's id, if there is one. */
  public Optional<String> trustedKeyId() {
    return Optional.ofNullable(trustedId);
  }

  /**
   * Why the version this chunk belongs to must not be applied, or empty when its header carries the
   * trusted key's signature (or nothing is checked).
   */
  public Optional<String> rejection(WeightChunk chunk) {
    if (trusted == null) return Optional.empty();
    return rejection(
        new Header(
            chunk.getModel(),
            chunk.getVersion(),
            chunk.getSha256() == null ? new byte[0] : chunk.getSha256().bytes(),
            chunk.getMeta()));
  }

  /**
   * Why this assembled version must not be applied, or empty when the trusted key signed it (or
   * nothing is checked). Hashes the bytes itself rather than trusting whoever assembled them.
   */
  public Optional<String> rejection(PublishedWeights weights) {
    if (trusted == null) return Optional.empty();
    return rejection(
        new Header(
            weights.model(),
            weights.version(),
            WeightSignature.sha256(weights.bytes()),
            weights.meta()));
  }

  /**
   * As {@link #rejection(PublishedWeights)} for a version a {@link
   * io.streamrlhf.schemas.WeightAssembler} of this process completed: it hashed exactly these bytes
   * while they arrived and found {@code sha256}, the SHA-256 in the chunks' headers, so hashing
   * them a second time would prove nothing more. The signature is still checked over that SHA-256
   * (free when the chunks' header was just verified).
   *
   * @param sha256 the SHA-256 the assembler verified the bytes against
   */
  public Optional<String> rejectionOfAssembled(PublishedWeights weights, byte[] sha256) {
    if (trusted == null) return Optional.empty();
    return rejection(new Header(weights.model(), weights.version(), sha256, weights.meta()));
  }

  private Optional<String> rejection(Header header) {
    if (header.equals(lastVerified)) return Optional.empty();
    var encoded = header.meta().get(PublishedWeights.META_SIGNATURE);
    if (encoded == null) return Optional.of("unsigned (the trusted key is " + trustedId + ")");
    byte[] signature;
    try {
      signature = Base64.getDecoder().decode(encoded);
    } catch (IllegalArgumentException e) {
      return Optional.of("its signature is not base64");
    }
    var message =
        WeightSignature.message(header.model(), header.version(), header.sha256(), header.meta());
    if (WeightSignature.verify(trusted, message, signature)) {
      lastVerified = header;
      return Optional.empty();
    }
    var claimed = header.meta().get(PublishedWeights.META_SIGNING_KEY);
    return Optional.of(
        claimed != null && !claimed.equals(trustedId)
            ? "signed by key " + claimed + ", not by the trusted key " + trustedId
            : "its signature does not verify with the trusted key "
                + trustedId
                + " (altered after signing)");
  }

  /** What a signature covers, as one comparable value. */
  private record Header(WeightModel model, long version, byte[] sha256, Map<String, String> meta) {
    @Override
    public boolean equals(Object o) {
      return o instanceof Header h
          && model == h.model
          && version == h.version
          && Arrays.equals(sha256, h.sha256)
          && meta.equals(h.meta);
    }

    @Override
    public int hashCode() {
      return Objects.hash(model, version, Arrays.hashCode(sha256), meta);
    }
  }
}
