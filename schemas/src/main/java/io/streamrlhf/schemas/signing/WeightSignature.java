package io.streamrlhf.schemas.signing;

import io.streamrlhf.schemas.PublishedWeights;
import io.streamrlhf.schemas.WeightModel;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;

/**
 * What a weight version's signature covers, and the Ed25519 (RFC 8032; in the JDK since 15) calls
 * that make and check it.
 *
 * <p>The signed message is the version's model, number, the SHA-256 of its bytes and every meta
 * entry but the signature itself, in one unambiguous encoding (length-prefixed, meta sorted by
 * key). Every chunk of a version carries all of these in its header, so a reader can check a chunk
 * before it lets it near its assembler, and the whole version again once assembled: the SHA-256
 * binds the signature to the bytes.
 */
public final class WeightSignature {
  public static final String ALGORITHM = "Ed25519";

  /** Keeps a signature over a weight version from ever verifying as one over anything else. */
  private static final byte[] DOMAIN =
      "streamrlhf weight version, signature v1".getBytes(StandardCharsets.UTF_8);

  private WeightSignature() {}

  /** The bytes signed for a version with these header fields. */
  static byte[] message(WeightModel model, long version, byte[] sha256, Map<String, String> meta) {
    var bytes = new ByteArrayOutputStream(256);
    try (var out = new DataOutputStream(bytes)) {
      out.write(DOMAIN);
      writeString(out, model.name());
      out.writeLong(version);
      out.writeInt(sha256.length);
      out.write(sha256);
      var signed = new TreeMap<>(meta);
      signed.remove(PublishedWeights.META_SIGNATURE);
      out.writeInt(signed.size());
      for (var e : signed.entrySet()) {
        writeString(out, e.getKey());
        writeString(out, e.getValue());
      }
    } catch (IOException e) {
      throw new UncheckedIOException("writing to memory cannot fail", e);
    }
    return bytes.toByteArray();
  }

  private static void writeString(DataOutputStream out, String s) throws IOException {
    var utf8 = s.getBytes(StandardCharsets.UTF_8);
    out.writeInt(utf8.length);
    out.write(utf8);
  }

  static byte[] sign(PrivateKey key, byte[] message) {
    try {
      var signature = Signature.getInstance(ALGORITHM);
      signature.initSign(key);
      signature.update(message);
      return signature.sign();
    } catch (GeneralSecurityException e) {
      throw new IllegalArgumentException("cannot sign with this key: " + e.getMessage(), e);
    }
  }

  /** True when {@code signature} is {@code key}'s over {@code message}; false for any bad input. */
  static boolean verify(PublicKey key, byte[] message, byte[] signature) {
    try {
      var verifier = Signature.getInstance(ALGORITHM);
      verifier.initVerify(key);
      verifier.update(message);
      return verifier.verify(signature);
    } catch (GeneralSecurityException e) {
      return false; // a malformed signature is a wrong one
    }
  }

  /**
   * A short name for a public key, for logs and the {@link PublishedWeights#META_SIGNING_KEY} meta:
   * the first 8 bytes of the SHA-256 of its X.509 encoding, in hex.
   */
  public static String keyId(PublicKey key) {
    return HexFormat.of().formatHex(sha256(key.getEncoded()), 0, 8);
  }

  static byte[] sha256(byte[] bytes) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(bytes);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java platform must provide SHA-256", e);
    }
  }
}
