package io.streamrlhf.infra.kafka;

import org.apache.kafka.common.utils.AppInfoParser;
import org.junit.jupiter.api.condition.EnabledIf;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.kafka.KafkaContainer;
import org.testcontainers.utility.DockerImageName;

/**
 * The transport contract against Apache Kafka in a container (Testcontainers), the same version as
 * the clients: code that talks to the embedded broker must work unchanged against a separate one.
 * Skipped, with the reason, where no Docker engine answers.
 */
@EnabledIf(
    value = "dockerAnswers",
    disabledReason =
        "no Docker engine answers here, so the container variant of the broker tests is skipped"
            + " (EmbeddedBrokerTransportTest runs the same tests against the in-process broker)")
class ContainerBrokerTransportTest extends BrokerTransportContract {
  private KafkaContainer kafka;

  static boolean dockerAnswers() {
    return DockerClientFactory.instance().isDockerAvailable();
  }

  @Override
  String startBroker() {
    kafka = new KafkaContainer(DockerImageName.parse("apache/kafka:" + AppInfoParser.getVersion()));
    kafka.start();
    return kafka.getBootstrapServers();
  }

  @Override
  void stopBroker() {
    if (kafka != null) {
      kafka.stop();
    }
  }
}
