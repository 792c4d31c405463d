package io.streamrlhf.actors.gateway;

import io.streamrlhf.schemas.transport.KafkaAccess;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.Base64;

/**
 * How one feedback gateway runs.
 *
 * @param kafka the Kafka cluster and how to authenticate to it
 * @param host the address to listen on (127.0.0.1: this machine only)
 * @param port the HTTP port; 0 picks a free one
 * @param token the bearer token every API call needs
 * @param labelStudioToken the bearer token Label Studio's webhook sends (set as a header in its
 *     webhook settings)
 * @param argillaSecret Argilla's webhook secret ({@code whsec_<base64>}); null: the Argilla
 *     endpoint is off
 * @param corsOrigin the one other origin whose pages may call the API; null: none (CORS off)
 * @param maxBodyBytes larger request bodies are refused (413)
 * @param ratePerMinute API and webhook calls allowed per client address and minute (429 beyond)
 * @param ackTimeout how long a submission waits for the broker's acknowledgement before it is
 *     answered 503
 */
public record GatewaySettings(
    KafkaAccess kafka,
    String host,
    int port,
    String token,
    String labelStudioToken,
    String argillaSecret,
    String corsOrigin,
    int maxBodyBytes,
    int ratePerMinute,
    Duration ackTimeout) {
  public static final String DEFAULT_HOST = "127.0.0.1";
  public static final int DEFAULT_PORT = 8080;
  public static final int DEFAULT_MAX_BODY_BYTES = 256 * 1024;
  public static final int DEFAULT_RATE_PER_MINUTE = 600;
  public static final Duration DEFAULT_ACK_TIMEOUT = Duration.ofSeconds(10);

  /**
   * @throws IllegalArgumentException with a one-line message a user can act on
   */
  public GatewaySettings {
    if (kafka == null) throw new IllegalArgumentException("the gateway needs a Kafka cluster");
    if (port < 0 || port > 65_535)
      throw new IllegalArgumentException("port must be in 0..65535, got " + port);
    if (token == null || token.isBlank())
      throw new IllegalArgumentException("the API token must not be blank");
    requireHeaderSafe("the API token", token);
    if (labelStudioToken == null || labelStudioToken.isBlank()) labelStudioToken = token;
    requireHeaderSafe("the Label Studio token", labelStudioToken);
    if (argillaSecret != null) StandardWebhooks.key(argillaSecret); // refuse a bad one at start
    if (corsOrigin != null
        && !(corsOrigin.startsWith("http://") || corsOrigin.startsWith("https://")))
      throw new IllegalArgumentException(
          "CORS origin must be scheme://host[:port], e.g. https://labels.example.org, got "
              + corsOrigin);
    if (maxBodyBytes < 1024)
      throw new IllegalArgumentException("max body bytes must be >= 1024, got " + maxBodyBytes);
    if (ratePerMinute < 1)
      throw new IllegalArgumentException(
          "rate limit must be >= 1 per minute, got " + ratePerMinute);
    if (ackTimeout == null
        || ackTimeout.compareTo(Duration.ofMillis(100)) < 0
        || ackTimeout.compareTo(MAX_ACK_TIMEOUT) > 0)
      throw new IllegalArgumentException(
          "the acknowledgement timeout must be from 100 ms to "
              + MAX_ACK_TIMEOUT.toMinutes()
              + " minutes, got "
              + ackTimeout);
  }

  /** The longest acknowledgement wait: a person waits for the answer to a click. */
  public static final Duration MAX_ACK_TIMEOUT = Duration.ofMinutes(10);

  /**
   * A bearer token travels in an HTTP header, which a browser sends only in visible ASCII, and
   * whose value the gateway trims: a token with other characters could never be matched.
   */
  private static void requireHeaderSafe(String what, String token) {
    for (int i = 0; i < token.length(); i++) {
      char c = token.charAt(i);
      if (c < 0x21 || c > 0x7e)
        throw new IllegalArgumentException(
            what
                + " must be visible ASCII characters without spaces (an HTTP header carries no"
                + " others), and its character "
                + (i + 1)
                + " is not");
    }
  }

  /** A gateway of a plaintext cluster on {@code port} with a token and the defaults. */
  public static GatewaySettings of(String bootstrapServers, int port, String token) {
    return of(KafkaAccess.plaintext(bootstrapServers), port, token);
  }

  /** A gateway on {@code port} with a token and the defaults for everything else. */
  public static GatewaySettings of(KafkaAccess kafka, int port, String token) {
    return new GatewaySettings(
        kafka,
        DEFAULT_HOST,
        port,
        token,
        null,
        null,
        null,
        DEFAULT_MAX_BODY_BYTES,
        DEFAULT_RATE_PER_MINUTE,
        DEFAULT_ACK_TIMEOUT);
  }

  /** A fresh random token: 32 bytes from a SecureRandom, URL-safe base64. */
  public static String generateToken() {
    var bytes = new byte[32];
    new SecureRandom().nextBytes(bytes);
    return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
  }

  public GatewaySettings withArgillaSecret(String secret) {
    return new GatewaySettings(
        kafka,
        host,
        port,
        token,
        labelStudioToken,
        secret,
        corsOrigin,
        maxBodyBytes,
        ratePerMinute,
        ackTimeout);
  }

  public GatewaySettings withLabelStudioToken(String t) {
    return new GatewaySettings(
        kafka,
        host,
        port,
        token,
        t,
        argillaSecret,
        corsOrigin,
        maxBodyBytes,
        ratePerMinute,
        ackTimeout);
  }

  public GatewaySettings withCorsOrigin(String origin) {
    return new GatewaySettings(
        kafka,
        host,
        port,
        token,
        labelStudioToken,
        argillaSecret,
        origin,
        maxBodyBytes,
        ratePerMinute,
        ackTimeout);
  }

  public GatewaySettings withMaxBodyBytes(int n) {
    return new GatewaySettings(
        kafka,
        host,
        port,
        token,
        labelStudioToken,
        argillaSecret,
        corsOrigin,
        n,
        ratePerMinute,
        ackTimeout);
  }

  public GatewaySettings withRatePerMinute(int n) {
    return new GatewaySettings(
        kafka,
        host,
        port,
        token,
        labelStudioToken,
        argillaSecret,
        corsOrigin,
        maxBodyBytes,
        n,
        ackTimeout);
  }

  public GatewaySettings withAckTimeout(Duration t) {
    return new GatewaySettings(
        kafka,
        host,
        port,
        token,
        labelStudioToken,
        argillaSecret,
        corsOrigin,
        maxBodyBytes,
        ratePerMinute,
        t);
  }

  public GatewaySettings withHost(String h) {
    return new GatewaySettings(
        kafka,
        h,
        port,
        token,
        labelStudioToken,
        argillaSecret,
        corsOrigin,
        maxBodyBytes,
        ratePerMinute,
        ackTimeout);
  }

  /** Keeps secrets out of logs and exception messages. */
  @Override
  public String toString() {
    return "GatewaySettings[kafka="
        + kafka
        + ", listen="
        + host
        + ":"
        + port
        + ", argilla="
        + (argillaSecret != null ? "on" : "off")
        + ", cors="
        + (corsOrigin == null ? "off" : corsOrigin)
        + ", maxBodyBytes="
        + maxBodyBytes
        + ", ratePerMinute="
        + ratePerMinute
        + ", ackTimeout="
        + ackTimeout
        + "]";
  }
}
