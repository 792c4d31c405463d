package io.streamrlhf.infra.cli;

import io.streamrlhf.schemas.transport.KafkaAccess;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code --bootstrap HOST:PORT} and {@code --kafka-config FILE} (a picocli mixin): the Kafka
 * cluster a process of the loop joins, for the commands that cannot run without one.
 */
final class KafkaClusterOptions {
  @Option(
      names = "--bootstrap",
      required = true,
      paramLabel = "HOST:PORT",
      description = "Kafka bootstrap servers.")
  String bootstrap;

  @Mixin KafkaConfigOption kafkaConfig;

  /** The cluster at {@code --bootstrap}, reached with the {@code --kafka-config} settings. */
  KafkaAccess access() {
    return kafkaConfig.access(bootstrap);
  }
}
