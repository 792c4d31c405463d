package io.streamrlhf.infra.kafka;

/** The transport contract against the in-process KRaft broker, the default for demo and tests. */
class EmbeddedBrokerTransportTest extends BrokerTransportContract {
  private EmbeddedKafka kafka;

  @Override
  String startBroker() {
    kafka = EmbeddedKafka.start();
    return kafka.bootstrapServers();
  }

  @Override
  void stopBroker() {
    if (kafka != null) {
      kafka.close();
    }
  }
}
