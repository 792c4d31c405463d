package io.streamrlhf.actors.gateway;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Signature checks of the Standard Webhooks specification (standardwebhooks.com), which Argilla's
 * webhooks follow: the sender signs {@code <webhook-id>.<webhook-timestamp>.<raw body>} with
 * HMAC-SHA256 under the endpoint's secret and sends {@code webhook-signature: v1,<base64>} (several
 * space-separated entries while a secret rotates); the secret is {@code whsec_} followed by the
 * base64 of the key. A timestamp more than {@link #TOLERANCE} away from our clock is refused, so a
 * captured delivery cannot be replayed later.
 */
final class StandardWebhooks {
  static final Duration TOLERANCE = Duration.ofMinutes(5);
  private static final String PREFIX = "whsec_";

  private StandardWebhooks() {}

  /**
   * The HMAC key of a secret given as {@code whsec_<base64>} (or the bare base64).
   *
   * @throws IllegalArgumentException when it is not base64 or is empty
   */
  static byte[] key(String secret) {
    var encoded = secret.startsWith(PREFIX) ? secret.substring(PREFIX.length()) : secret;
    byte[] key;
    try {
      key = Base64.getDecoder().decode(encoded.trim());
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "the Argilla secret must be whsec_<base64> as Argilla shows it (not base64 after whsec_)");
    }
    if (key.length == 0) throw new IllegalArgumentException("the Argilla secret is empty");
    return key;
  }

  /**
   * Checks one delivery.
   *
   * @throws Rejection 401 when a header is missing, the timestamp is out of tolerance, or no
   *     signature matches
   */
  static void verify(
      byte[] key, String id, String timestamp, String signatures, byte[] body, Instant now) {
    if (id == null || timestamp == null || signatures == null)
      throw new Rejection(401, "missing webhook-id, webhook-timestamp or webhook-signature header");
    long seconds;
    try {
      seconds = Long.parseLong(timestamp.trim());
    } catch (NumberFormatException e) {
      throw new Rejection(401, "webhook-timestamp is not Unix seconds");
    }
    // not |now - seconds|: that overflows for a timestamp near Long.MIN_VALUE (now +- tolerance
    // cannot, an Instant's seconds are far inside a long's range)
    long tolerance = TOLERANCE.toSeconds();
    if (seconds < now.getEpochSecond() - tolerance || seconds > now.getEpochSecond() + tolerance)
      throw new Rejection(
          401,
          "webhook-timestamp is more than " + TOLERANCE.toMinutes() + " minutes off our clock");
    var expected = hmac(key, id, seconds, body);
    for (var entry : signatures.trim().split(" +")) {
      if (!entry.startsWith("v1,")) continue;
      byte[] given;
      try {
        given = Base64.getDecoder().decode(entry.substring(3));
      } catch (IllegalArgumentException e) {
        continue;
      }
      if (MessageDigest.isEqual(expected, given)) return; // constant time
    }
    throw new Rejection(401, "webhook-signature does not match the configured Argilla secret");
  }

  private static byte[] hmac(byte[] key, String id, long timestamp, byte[] body) {
    try {
      var mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(key, "HmacSHA256"));
      mac.update((id + "." + timestamp + ".").getBytes(StandardCharsets.UTF_8));
      return mac.doFinal(body);
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is part of every JDK", e);
    }
  }
}
