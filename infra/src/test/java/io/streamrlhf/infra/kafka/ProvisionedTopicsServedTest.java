package io.streamrlhf.infra.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamrlhf.schemas.TopicSpec;
import io.streamrlhf.schemas.Topics;
import io.streamrlhf.schemas.transport.KafkaClientConfigs;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.junit.jupiter.api.Test;

/**
 * A producer that starts the moment provisioning returns finds every partition served: none of its
 * requests is refused because the broker has not yet applied the topic's creation. Such a refusal
 * can cost an idempotent producer its first records (KAFKA-15591: a later request lands first and
 * the retried one is refused as out of order until it expires), which is how a test once lost a
 * policy version right after its topics were made afresh.
 */
class ProvisionedTopicsServedTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(60);
  private static final int ROUNDS = 8;

  @Test
  void aProducerStartingAsProvisioningReturnsIsNeverRefusedForAPartitionNotYetServed()
      throws Exception {
    var topics = Topics.provisioned();
    var names = topics.stream().map(TopicSpec::name).toList();
    try (var kafka = EmbeddedKafka.start();
        var admin =
            Admin.create(
                Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
      for (int round = 0; round < ROUNDS; round++) {
        if (round > 0) deleteAndAwaitGone(admin, names);
        assertThat(TopicProvisioner.provision(kafka.bootstrapServers(), TIMEOUT))
            .containsExactlyInAnyOrderElementsOf(names);

        double retries;
        try (var producer =
            new KafkaProducer<byte[], byte[]>(
                KafkaClientConfigs.producer(kafka.bootstrapServers(), "probe-" + round))) {
          var sent = new ArrayList<Future<RecordMetadata>>();
          for (var t : topics) {
            for (int p = 0; p < t.partitions(); p++) {
              sent.add(
                  producer.send(new ProducerRecord<>(t.name(), p, new byte[] {1}, new byte[] {1})));
            }
          }
          for (var f : sent) f.get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
          retries = metric(producer, "record-retry-total");
        }
        assertThat(retries).as("round %d: produce requests retried", round).isZero();
      }
    }
  }

  private static double metric(KafkaProducer<?, ?> producer, String name) {
    return producer.metrics().entrySet().stream()
        .filter(
            e -> e.getKey().name().equals(name) && e.getKey().group().equals("producer-metrics"))
        .mapToDouble(e -> ((Number) e.getValue().metricValue()).doubleValue())
        .sum();
  }

  private static void deleteAndAwaitGone(Admin admin, List<String> names) throws Exception {
    admin.deleteTopics(names).all().get(TIMEOUT.toSeconds(), TimeUnit.SECONDS);
    long deadline = System.nanoTime() + TIMEOUT.toNanos();
    while (admin.listTopics().names().get(TIMEOUT.toSeconds(), TimeUnit.SECONDS).stream()
        .anyMatch(names::contains)) {
      assertThat(System.nanoTime()).as("topics deleted in time").isLessThan(deadline);
      Thread.sleep(50); // polling the broker's metadata with a deadline
    }
  }
}
