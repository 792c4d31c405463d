package io.streamrlhf.schemas.transport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KafkaAccessTest {
  private static final String JAAS =
      "org.apache.kafka.common.security.plain.PlainLoginModule required"
          + " username=\"learner\" password=\"s3cret\";";

  private static final Map<String, String> SASL =
      Map.of(
          "security.protocol", "SASL_PLAINTEXT",
          "sasl.mechanism", "PLAIN",
          "sasl.jaas.config", JAAS);

  @Test
  void securitySettingsReachEveryProducerConsumerAndAdminClient() {
    var kafka = new KafkaAccess("h:1", SASL);

    for (var config :
        java.util.List.of(
            KafkaClientConfigs.producer(kafka, "p"),
            KafkaClientConfigs.groupConsumer(kafka, "g", "c"),
            KafkaClientConfigs.weightsConsumer(kafka, "w"),
            KafkaClientConfigs.admin(kafka, "a"))) {
      assertThat(config)
          .containsEntry("bootstrap.servers", "h:1")
          .containsEntry("security.protocol", "SASL_PLAINTEXT")
          .containsEntry("sasl.mechanism", "PLAIN")
          .containsEntry("sasl.jaas.config", JAAS);
    }
  }

  @Test
  void aSettingGoesOnlyToTheClientsThatKnowIt() {
    var kafka = new KafkaAccess("h:1", Map.of("compression.type", "zstd"));

    assertThat(KafkaClientConfigs.producer(kafka, "p")).containsEntry("compression.type", "zstd");
    assertThat(KafkaClientConfigs.groupConsumer(kafka, "g", "c"))
        .doesNotContainKey("compression.type");
    assertThat(KafkaClientConfigs.admin(kafka, "a")).doesNotContainKey("compression.type");
  }

  @Test
  void settingsTheLoopOwnsAreRefusedByName() {
    for (var owned :
        new String[] {
          "key.serializer",
          "value.deserializer",
          "enable.auto.commit",
          "enable.idempotence",
          "acks",
          "isolation.level",
          "group.id",
          "transactional.id",
          "client.id"
        }) {
      assertThatThrownBy(() -> new KafkaAccess("h:1", Map.of(owned, "x")))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageStartingWith(owned + " is set by rlhf itself");
    }
    assertThatThrownBy(() -> new KafkaAccess("h:1", Map.of("bootstrap.servers", "other:9092")))
        .hasMessageContaining("--bootstrap");
  }

  @Test
  void unknownKeysAndBadValuesAreRefusedBeforeAnyClientIsMade() {
    assertThatThrownBy(() -> new KafkaAccess("h:1", Map.of("sasl.mechansim", "PLAIN")))
        .hasMessageStartingWith("'sasl.mechansim' is not a Kafka client setting");
    assertThatThrownBy(() -> new KafkaAccess("h:1", Map.of("security.protocol", "SASL_FOO")))
        .hasMessageStartingWith("bad value for security.protocol");
    assertThatThrownBy(() -> new KafkaAccess("h:1", Map.of("request.timeout.ms", "soon")))
        .hasMessageStartingWith("bad value for request.timeout.ms");
    var unterminated = JAAS.substring(0, JAAS.length() - 1);
    assertThatThrownBy(() -> new KafkaAccess("h:1", Map.of("sasl.jaas.config", unterminated)))
        .hasMessageStartingWith("bad value for sasl.jaas.config")
        .hasMessageNotContaining("s3cret");
  }

  @Test
  void itsTextNamesTheClusterAndProtocolButNeverASecret() {
    assertThat(new KafkaAccess("h:1", SASL)).hasToString("h:1 (SASL_PLAINTEXT)");
    assertThat(KafkaAccess.plaintext("h:1")).hasToString("h:1");
  }

  @Test
  void aPropertiesFileIsReadAndEveryProblemNamesTheFile(@TempDir Path dir) throws Exception {
    var good =
        Files.writeString(
            dir.resolve("client.properties"),
            "# the learner's credentials\n"
                + "security.protocol=SASL_PLAINTEXT\n"
                + "sasl.mechanism = PLAIN\n"
                + "sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule"
                + " required \\\n    username=\"learner\" password=\"s3cret\";\n");
    var owned = Files.writeString(dir.resolve("owned.properties"), "enable.auto.commit=true\n");
    var binary = Files.write(dir.resolve("binary.properties"), new byte[] {'a', '=', (byte) 0xff});
    var missing = dir.resolve("missing.properties");

    var kafka = KafkaAccess.of("h:1", good);

    assertThat(kafka.clientSettings())
        .containsEntry("sasl.mechanism", "PLAIN")
        .containsEntry("sasl.jaas.config", JAAS);
    assertThat(KafkaAccess.of("h:1", null)).isEqualTo(KafkaAccess.plaintext("h:1"));
    assertThatThrownBy(() -> KafkaAccess.of("h:1", owned))
        .hasMessageStartingWith(owned + ": enable.auto.commit is set by rlhf itself");
    assertThatThrownBy(() -> KafkaAccess.of("h:1", binary)).hasMessage(binary + ": not UTF-8 text");
    assertThatThrownBy(() -> KafkaAccess.of("h:1", missing)).hasMessage(missing + ": no such file");
  }
}
