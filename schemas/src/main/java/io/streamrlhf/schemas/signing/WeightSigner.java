package io.streamrlhf.schemas.signing;

import io.streamrlhf.schemas.PublishedWeights;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.util.Base64;
import java.util.HashMap;

/**
 * A publisher's Ed25519 key pair (the learner's for policies, the reward trainer's for reward
 * models): signs each version it publishes, so actors holding its public key apply nothing else.
 */
public final class WeightSigner {
  private final PrivateKey privateKey;
  private final PublicKey publicKey;
  private final String keyId;

  /**
   * @throws IllegalArgumentException when the keys are not Ed25519 or not one pair
   */
  public WeightSigner(KeyPair pair) {
    this.privateKey = pair.getPrivate();
    this.publicKey = pair.getPublic();
    if (!WeightSignature.ALGORITHM.equals(privateKey.getAlgorithm())
        && !"EdDSA".equals(privateKey.getAlgorithm())) {
      throw new IllegalArgumentException(
          "weight signing needs an Ed25519 key, got " + privateKey.getAlgorithm());
    }
    var probe = "does this pair belong together".getBytes(java.nio.charset.StandardCharsets.UTF_8);
    if (!WeightSignature.verify(publicKey, probe, WeightSignature.sign(privateKey, probe))) {
      throw new IllegalArgumentException("the public key does not belong to the private key");
    }
    this.keyId = WeightSignature.keyId(publicKey);
  }

  /** A fresh key pair from the JDK's default SecureRandom. */
  public static WeightSigner generate() {
    try {
      return new WeightSigner(
          KeyPairGenerator.getInstance(WeightSignature.ALGORITHM).generateKeyPair());
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("the JDK provides Ed25519 since Java 15", e);
    }
  }

  /**
   * The same version with this key's signature in its meta ({@link
   * PublishedWeights#META_SIGNATURE}, {@link PublishedWeights#META_SIGNING_KEY}); a signature it
   * already had is replaced.
   */
  public PublishedWeights sign(PublishedWeights weights) {
    return sign(weights, WeightSignature.sha256(weights.bytes()));
  }

  /**
   * As {@link #sign(PublishedWeights)} with the SHA-256 of the bytes already computed by the caller
   * (a publisher hashes once for the signature and the chunks).
   *
   * @param sha256 the SHA-256 of {@code weights.bytes()}; a wrong one makes a signature no reader
   *     accepts
   */
  public PublishedWeights sign(PublishedWeights weights, byte[] sha256) {
    var meta = new HashMap<>(weights.meta());
    meta.remove(PublishedWeights.META_SIGNATURE);
    meta.put(PublishedWeights.META_SIGNING_KEY, keyId);
    var message = WeightSignature.message(weights.model(), weights.version(), sha256, meta);
    meta.put(
        PublishedWeights.META_SIGNATURE,
        Base64.getEncoder().encodeToString(WeightSignature.sign(privateKey, message)));
    return new PublishedWeights(
        weights.model(), weights.version(), weights.bytes(), meta, weights.publishedAt());
  }

  public PublicKey publicKey() {
    return publicKey;
  }

  PrivateKey privateKey() {
    return privateKey;
  }

  /** {@link WeightSignature#keyId} of the public key. */
  public String keyId() {
    return keyId;
  }

  /** Names the key, never shows it. */
  @Override
  public String toString() {
    return "WeightSigner[" + keyId + "]";
  }
}
