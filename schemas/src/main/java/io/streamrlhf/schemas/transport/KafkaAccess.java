package io.streamrlhf.schemas.transport;

import java.nio.file.Path;
import java.util.Collections;
import java.util.Map;
import java.util.TreeMap;

/**
 * The Kafka cluster a process talks to and how its clients get in: the bootstrap servers, and
 * client settings as Kafka spells them ({@code security.protocol}, {@code sasl.mechanism}, {@code
 * sasl.jaas.config}, {@code ssl.*}), which {@link KafkaClientConfigs} adds to every producer,
 * consumer and admin client it configures. Settings that would change the loop's own guarantees
 * (serializers, offset commits, acks, ids) are refused when the value is made ({@link
 * KafkaClientSettings}).
 *
 * <p>One value threads through each process's settings records from its command line ({@code
 * --bootstrap}, {@code --kafka-config}); there is no process-wide default, so two clients of one
 * JVM (a test's, say) may hold different credentials.
 *
 * @param clientSettings may hold secrets (passwords in {@code sasl.jaas.config}): {@link #toString}
 *     never shows them
 */
public record KafkaAccess(String bootstrapServers, Map<String, String> clientSettings) {
  /**
   * @throws IllegalArgumentException when the address is blank or a setting is unknown to Kafka,
   *     malformed, or one the loop sets itself; the message names the setting
   */
  public KafkaAccess {
    if (bootstrapServers == null || bootstrapServers.isBlank())
      throw new IllegalArgumentException("Kafka bootstrap servers must not be blank");
    clientSettings = Collections.unmodifiableMap(new TreeMap<>(clientSettings));
    KafkaClientSettings.check(clientSettings);
  }

  /** A cluster clients reach without authentication or encryption (Kafka's default). */
  public static KafkaAccess plaintext(String bootstrapServers) {
    return new KafkaAccess(bootstrapServers, Map.of());
  }

  /**
   * {@code bootstrapServers} with the settings in {@code kafkaConfig} (a Java properties file), or
   * plaintext when that is null.
   *
   * @throws IllegalArgumentException in one line naming the file, when it cannot be read or holds a
   *     setting that is refused
   */
  public static KafkaAccess of(String bootstrapServers, Path kafkaConfig) {
    if (kafkaConfig == null) return plaintext(bootstrapServers);
    var settings = KafkaClientSettings.load(kafkaConfig);
    try {
      return new KafkaAccess(bootstrapServers, settings);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(kafkaConfig + ": " + e.getMessage(), e);
    }
  }

  /** The same cluster reached with these client settings instead. */
  public KafkaAccess withClientSettings(Map<String, String> settings) {
    return new KafkaAccess(bootstrapServers, settings);
  }

  /** The bootstrap servers, and the security protocol when one is set; never a setting's value. */
  @Override
  public String toString() {
    var protocol = clientSettings.get("security.protocol");
    return protocol == null ? bootstrapServers : bootstrapServers + " (" + protocol + ")";
  }
}
