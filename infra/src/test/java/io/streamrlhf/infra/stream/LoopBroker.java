package io.streamrlhf.infra.stream;

import io.streamrlhf.infra.kafka.EmbeddedKafka;
import io.streamrlhf.infra.kafka.TopicProvisioner;
import io.streamrlhf.schemas.TopicSpec;
import io.streamrlhf.schemas.Topics;
import io.streamrlhf.schemas.transport.KafkaAccess;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ConsumerGroupListing;

/**
 * One real embedded broker for the streaming tests of this JVM (starting one costs seconds on a
 * shared machine), with the loop's topics and consumer groups wiped before each test: a new run on
 * old topics would find an earlier run's weights and prompts there.
 */
final class LoopBroker {
  private static EmbeddedKafka kafka;

  private LoopBroker() {}

  /** The broker's bootstrap address, with fresh, empty loop topics and no consumer groups. */
  static String fresh() throws Exception {
    return fresh(Topics.PROMPT_PARTITIONS);
  }

  /** {@link #fresh()} with {@code rlhf.prompts} on {@code promptPartitions} partitions. */
  static synchronized String fresh(int promptPartitions) throws Exception {
    if (kafka == null) {
      kafka = EmbeddedKafka.start();
      Runtime.getRuntime().addShutdownHook(new Thread(kafka::close));
    }
    var bootstrap = kafka.bootstrapServers();
    try (var admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
      var groups =
          admin.listConsumerGroups().all().get(30, TimeUnit.SECONDS).stream()
              .map(ConsumerGroupListing::groupId)
              .toList();
      if (!groups.isEmpty()) admin.deleteConsumerGroups(groups).all().get(30, TimeUnit.SECONDS);
      var existing = admin.listTopics().names().get(30, TimeUnit.SECONDS);
      var loop = Topics.all().stream().map(TopicSpec::name).filter(existing::contains).toList();
      if (!loop.isEmpty()) {
        admin.deleteTopics(loop).all().get(30, TimeUnit.SECONDS);
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (admin.listTopics().names().get(30, TimeUnit.SECONDS).stream()
            .anyMatch(loop::contains)) {
          if (System.nanoTime() > deadline)
            throw new IllegalStateException("topics not deleted within 30 s");
          Thread.sleep(50); // polling the broker's metadata with a deadline
        }
      }
    }
    // creation can race the deletion's propagation: retry until every topic exists
    long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
    while (true) {
      try {
        TopicProvisioner.provision(
            KafkaAccess.plaintext(bootstrap), Duration.ofSeconds(30), promptPartitions);
        return bootstrap;
      } catch (RuntimeException e) {
        if (System.nanoTime() > deadline) throw e;
        Thread.sleep(100);
      }
    }
  }
}
