package io.streamrlhf.infra.cli;

import io.streamrlhf.schemas.transport.KafkaAccess;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/**
 * {@code --kafka-config FILE} (a picocli mixin): the Kafka client settings, SASL and SSL as Kafka
 * spells them, of every producer, consumer and admin client the process creates.
 */
final class KafkaConfigOption {
  @Option(
      names = "--kafka-config",
      paramLabel = "FILE",
      description =
          "Kafka client settings for every client of this process: a Java properties file with keys"
              + " as Kafka spells them (security.protocol, sasl.mechanism, sasl.jaas.config, ssl.*)."
              + " Settings rlhf sets itself (serializers, acks, enable.auto.commit, ids,"
              + " bootstrap.servers) are refused. Default: PLAINTEXT, no authentication.")
  Path file;

  /** The cluster at {@code bootstrap}, reached with the file's settings. */
  KafkaAccess access(String bootstrap) {
    try {
      return KafkaAccess.of(bootstrap, file);
    } catch (IllegalArgumentException e) {
      throw new UserError(
          file == null ? "--bootstrap: " + e.getMessage() : "--kafka-config " + e.getMessage(), e);
    }
  }
}
