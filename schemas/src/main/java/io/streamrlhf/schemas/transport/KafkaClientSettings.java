package io.streamrlhf.schemas.transport;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.config.SaslConfigs;
import org.apache.kafka.common.config.types.Password;
import org.apache.kafka.common.security.JaasContext;

/**
 * The client settings a user may add to the loop's Kafka clients ({@code --kafka-config FILE}):
 * read from a Java properties file, each key spelled as Kafka spells it and checked against Kafka's
 * own definitions of the producer, consumer and admin configs, so a misspelt {@code sasl.mechansim}
 * is an error at start rather than a client that silently connects without it.
 *
 * <p>Refused: keys no Kafka client knows, values Kafka would reject, and every key the loop sets
 * itself ({@link KafkaClientConfigs#ownedKeys}: serializers, {@code enable.auto.commit}, {@code
 * acks}, idempotence, isolation, ids, ...), since the loop's guarantees (offsets committed with
 * checkpoints, no duplicated weight chunk) rest on them.
 */
public final class KafkaClientSettings {
  private static final List<ConfigDef> DEFINITIONS =
      List.of(
          ProducerConfig.configDef(), ConsumerConfig.configDef(), AdminClientConfig.configDef());

  /** Identity keys set per client by the loop, whether or not a config builder sets them today. */
  private static final Set<String> IDENTITIES =
      Set.of(
          CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG,
          CommonClientConfigs.CLIENT_ID_CONFIG,
          CommonClientConfigs.GROUP_ID_CONFIG,
          CommonClientConfigs.GROUP_INSTANCE_ID_CONFIG,
          ProducerConfig.TRANSACTIONAL_ID_CONFIG);

  private KafkaClientSettings() {}

  /**
   * The settings in a properties file ({@code key=value} lines, {@code #} comments, as {@link
   * Properties#load(Reader)} reads them), checked.
   *
   * @throws IllegalArgumentException in one line starting with the file's name
   */
  public static Map<String, String> load(Path file) {
    var properties = new Properties();
    var decoder =
        StandardCharsets.UTF_8
            .newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT);
    try (var in = Files.newInputStream(file);
        var reader = new java.io.InputStreamReader(in, decoder)) {
      properties.load(reader);
    } catch (NoSuchFileException e) {
      throw new IllegalArgumentException(file + ": no such file", e);
    } catch (AccessDeniedException e) {
      throw new IllegalArgumentException(file + ": permission denied", e);
    } catch (CharacterCodingException e) {
      throw new IllegalArgumentException(file + ": not UTF-8 text", e);
    } catch (IOException e) {
      throw new IllegalArgumentException(file + ": cannot read it: " + e.getMessage(), e);
    } catch (IllegalArgumentException e) { // Properties' own complaint, e.g. a bad \\uXXXX
      throw new IllegalArgumentException(file + ": not a properties file: " + e.getMessage(), e);
    }
    var settings = new TreeMap<String, String>();
    for (var name : properties.stringPropertyNames()) {
      settings.put(name, properties.getProperty(name).strip());
    }
    try {
      check(settings);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
    }
    return settings;
  }

  /**
   * @throws IllegalArgumentException naming the first setting that is unknown, malformed or the
   *     loop's own
   */
  static void check(Map<String, String> settings) {
    for (var e : settings.entrySet()) {
      var key = e.getKey();
      if (key.equals(CommonClientConfigs.BOOTSTRAP_SERVERS_CONFIG)) {
        throw new IllegalArgumentException(
            "bootstrap.servers comes from --bootstrap, not from the client settings");
      }
      if (IDENTITIES.contains(key) || KafkaClientConfigs.ownedKeys().contains(key)) {
        throw new IllegalArgumentException(
            key
                + " is set by rlhf itself (the loop's delivery and offset guarantees rest on it)"
                + " and cannot be overridden; allowed are settings such as security.protocol,"
                + " sasl.*, ssl.*");
      }
      boolean known = false;
      for (var definition : DEFINITIONS) {
        var definitionKey = definition.configKeys().get(key);
        if (definitionKey == null) continue;
        known = true;
        try {
          var parsed = ConfigDef.parseType(key, e.getValue(), definitionKey.type);
          if (definitionKey.validator != null) definitionKey.validator.ensureValid(key, parsed);
        } catch (ConfigException bad) {
          throw new IllegalArgumentException("bad value for " + key + ": " + bad.getMessage(), bad);
        }
      }
      if (key.equals(SaslConfigs.SASL_JAAS_CONFIG)) checkJaas(e.getValue());
      if (!known) {
        throw new IllegalArgumentException(
            "'"
                + key
                + "' is not a Kafka client setting (spell them as Kafka does, e.g."
                + " security.protocol, sasl.mechanism, sasl.jaas.config, ssl.truststore.location)");
      }
    }
  }

  /**
   * Kafka parses the JAAS entry only when a client is made, deep in a stack trace; parse it now.
   * Kafka's own message is not repeated: it may quote the entry, password and all.
   */
  private static void checkJaas(String value) {
    try {
      JaasContext.loadClientContext(Map.of(SaslConfigs.SASL_JAAS_CONFIG, new Password(value)));
    } catch (RuntimeException e) {
      throw new IllegalArgumentException(
          "bad value for sasl.jaas.config: not one JAAS login module entry Kafka can parse, e.g."
              + " org.apache.kafka.common.security.plain.PlainLoginModule required"
              + " username=\"NAME\" password=\"SECRET\";");
    }
  }
}
