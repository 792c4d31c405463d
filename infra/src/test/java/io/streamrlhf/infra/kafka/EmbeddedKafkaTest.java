package io.streamrlhf.infra.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamrlhf.schemas.AvroCodec;
import io.streamrlhf.schemas.Prompt;
import io.streamrlhf.schemas.TopicSpec;
import io.streamrlhf.schemas.Topics;
import io.streamrlhf.schemas.transport.KafkaClientConfigs;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.config.TopicConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EmbeddedKafkaTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(30);

  @Test
  void provisioningCreatesEveryTopicWithItsPartitionsAndConfigsExactlyOnce() throws Exception {
    try (var kafka = EmbeddedKafka.start();
        var admin =
            Admin.create(
                Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
      var names = Topics.provisioned().stream().map(TopicSpec::name).toList();
      var unused =
          Topics.all().stream().map(TopicSpec::name).filter(n -> !names.contains(n)).toList();

      assertThat(TopicProvisioner.provision(kafka.bootstrapServers(), TIMEOUT))
          .containsExactlyInAnyOrderElementsOf(names);
      assertThat(TopicProvisioner.provision(kafka.bootstrapServers(), TIMEOUT)).isEmpty();
      // topics nothing reads or writes yet are defined but not created
      assertThat(unused).containsExactly(Topics.REWARD_WEIGHTS);
      assertThat(names).contains(Topics.LABEL_REQUESTS, Topics.COMPARISONS);
      assertThat(admin.listTopics().names().get(30, TimeUnit.SECONDS))
          .doesNotContainAnyElementsOf(unused);

      var described = admin.describeTopics(names).allTopicNames().get(30, TimeUnit.SECONDS);
      for (var spec : Topics.provisioned()) {
        assertThat(described.get(spec.name()).partitions())
            .as(spec.name())
            .hasSize(spec.partitions());
      }
      var weights = new ConfigResource(ConfigResource.Type.TOPIC, Topics.POLICY_WEIGHTS);
      var config =
          admin.describeConfigs(List.of(weights)).all().get(30, TimeUnit.SECONDS).get(weights);
      assertThat(config.get(TopicConfig.CLEANUP_POLICY_CONFIG).value())
          .isEqualTo(TopicConfig.CLEANUP_POLICY_COMPACT);
    }
  }

  @Test
  void aTemporaryDataDirectoryIsDeletedOnClose() {
    Path dir;
    try (var kafka = EmbeddedKafka.start()) {
      dir = kafka.dataDir();
      assertThat(dir).isDirectory();
      assertThat(kafka.bootstrapServers()).startsWith("127.0.0.1:");
    }
    assertThat(Files.exists(dir)).isFalse();
  }

  @Test
  void recordsSurviveARestartOnTheSameDataDirectory(@TempDir Path dir) throws Exception {
    var codec = AvroCodec.of(Prompt.class);
    var prompt = new Prompt("p-restart", "Count to three\n", Instant.ofEpochMilli(42), 0L, 0L);
    var options = EmbeddedKafka.Options.defaults().withDataDir(dir);
    try (var kafka = EmbeddedKafka.start(options);
        var producer =
            new KafkaProducer<byte[], byte[]>(
                KafkaClientConfigs.producer(kafka.bootstrapServers(), "t"))) {
      TopicProvisioner.provision(kafka.bootstrapServers(), TIMEOUT);
      producer
          .send(new ProducerRecord<>(Topics.PROMPTS, 0, null, codec.encode(prompt)))
          .get(30, TimeUnit.SECONDS);
    }
    assertThat(dir).isNotEmptyDirectory();

    try (var kafka = EmbeddedKafka.start(options);
        var consumer =
            new KafkaConsumer<byte[], byte[]>(
                KafkaClientConfigs.weightsConsumer(kafka.bootstrapServers(), "t"))) {
      var partition = new TopicPartition(Topics.PROMPTS, 0);
      consumer.assign(List.of(partition));
      consumer.seekToBeginning(List.of(partition));
      var read = new ArrayList<Prompt>();
      long deadline = System.nanoTime() + TIMEOUT.toNanos();
      while (read.isEmpty() && System.nanoTime() < deadline) {
        consumer.poll(Duration.ofMillis(500)).forEach(r -> read.add(codec.decode(r.value())));
      }
      assertThat(read).containsExactly(prompt);
    }
  }

  @Test
  void aTakenPortFailsWithAMessageNamingIt() throws Exception {
    try (var taken = new ServerSocket()) {
      taken.bind(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0));
      int port = taken.getLocalPort();

      assertThatThrownBy(() -> EmbeddedKafka.start(EmbeddedKafka.Options.defaults().withPort(port)))
          .isInstanceOf(EmbeddedKafka.BrokerStartException.class)
          .hasMessageContaining(Integer.toString(port));
    }
  }
}
