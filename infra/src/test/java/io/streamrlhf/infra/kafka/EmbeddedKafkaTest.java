package io.streamrlhf.infra.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamrlhf.schemas.AvroCodec;
import io.streamrlhf.schemas.Prompt;
import io.streamrlhf.schemas.TopicSpec;
import io.streamrlhf.schemas.Topics;
import io.streamrlhf.schemas.transport.ClusterWatch;
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
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.utils.Exit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EmbeddedKafkaTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(30);

  @Test
  void aClusterWatchHearsAFreshBrokerAtTheSameAddressAsAnotherCluster(@TempDir Path logs)
      throws Exception {
    var first =
        EmbeddedKafka.start(EmbeddedKafka.Options.defaults().withDataDir(logs.resolve("a")));
    int port = Integer.parseInt(first.bootstrapServers().replaceAll(".*:", ""));
    EmbeddedKafka fresh = null;
    var watch = new ClusterWatch();
    var config = KafkaClientConfigs.weightsConsumer(first.bootstrapServers(), "watched");
    try (var consumer = new KafkaConsumer<>(config, watch, new ByteArrayDeserializer())) {
      TopicProvisioner.provision(first.bootstrapServers(), TIMEOUT);
      var partition = new TopicPartition(Topics.PROMPTS, 0);
      consumer.assign(List.of(partition));
      consumer.endOffsets(List.of(partition), TIMEOUT);
      String firstId = clusterId(first);
      assertThat(watch.changed()).isEmpty();

      first.close();
      first = null;
      fresh =
          EmbeddedKafka.start(
              EmbeddedKafka.Options.defaults().withDataDir(logs.resolve("b")).withPort(port));
      TopicProvisioner.provision(fresh.bootstrapServers(), TIMEOUT);
      // the client goes on at the same address as if nothing happened; its metadata says otherwise
      long deadline = System.nanoTime() + TIMEOUT.toNanos();
      while (watch.changed().isEmpty() && System.nanoTime() < deadline)
        consumer.poll(Duration.ofMillis(100));
      assertThat(watch.changed()).contains(new ClusterWatch.Change(firstId, clusterId(fresh)));
    } finally {
      if (first != null) first.close();
      if (fresh != null) fresh.close();
    }
  }

  private static String clusterId(EmbeddedKafka kafka) throws Exception {
    try (var admin =
        Admin.create(
            Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
      return admin.describeCluster().clusterId().get(30, TimeUnit.SECONDS);
    }
  }

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
      // every topic of the loop has a user now (one defined but unused would not be created)
      assertThat(unused).isEmpty();
      assertThat(names).contains(Topics.LABEL_REQUESTS, Topics.COMPARISONS, Topics.REWARD_WEIGHTS);
      assertThat(admin.listTopics().names().get(30, TimeUnit.SECONDS)).containsAll(names);

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

  /**
   * Kafka halts the JVM when every log directory has failed (a full disk); a child JVM calls the
   * same halt with a broker running: one line says so and what its process leaves, the temporary
   * directory is given back, and the status is Kafka's.
   */
  @Test
  void aBrokerThatHaltsItsJvmSaysSoAndDeletesItsTemporaryDirectory(@TempDir Path tmp)
      throws Exception {
    var javaBin = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    var stdout = tmp.resolve("stdout.txt");
    var stderrFile = tmp.resolve("stderr.txt");
    var child =
        new ProcessBuilder(
                javaBin,
                "-Djava.io.tmpdir=" + tmp,
                "-cp",
                System.getProperty("java.class.path"),
                HaltingBroker.class.getName(),
                "the checkpoints in /runs/ppo stay")
            .redirectOutput(stdout.toFile())
            .redirectError(stderrFile.toFile())
            .start();
    boolean halted = child.waitFor(120, TimeUnit.SECONDS);
    if (!halted) child.destroyForcibly();
    var stderr = Files.readString(stderrFile);
    assertThat(halted).as("the child halted; its output: %s", stderr).isTrue();
    // Kafka's status, unless this machine's temporary disk is itself nearly full
    boolean fullDisk = Files.getFileStore(tmp).getUsableSpace() < EmbeddedKafka.FULL_DISK_BYTES;
    assertThat(child.exitValue()).as(stderr).isEqualTo(fullDisk ? 4 : 1);
    var dataDir = Path.of(Files.readString(stdout).strip());
    assertThat(dataDir.getParent()).isEqualTo(tmp);
    assertThat(dataDir).as("given back though no exit hook runs after a halt").doesNotExist();
    assertThat(stderr)
        .contains("kafka broker: halting this process (Kafka's status 1)")
        .contains("; its temporary data directory is deleted; the checkpoints in /runs/ppo stay");
  }

  @Test
  void aHaltOnAFullDiskNamesTheDirectoryAndExitsWithTheMachinesCode() {
    var dir = Path.of("/data/kafka");
    var stage = "the checkpoints in /runs/ppo stay, and a resume continues from the last";
    var full = EmbeddedKafka.haltLine(dir, true, false, 1, null, 4096, stage);
    assertThat(full.fullDisk()).isTrue();
    assertThat(full.line())
        .isEqualTo(
            "kafka broker: halting this process (Kafka's status 1): its data directory /data/kafka"
                + " is on a full disk (4096 bytes free); the checkpoints in /runs/ppo stay, and a"
                + " resume continues from the last");
    var roomy =
        EmbeddedKafka.haltLine(dir, true, true, 1, "fatal", EmbeddedKafka.FULL_DISK_BYTES, null);
    assertThat(roomy.fullDisk()).isFalse();
    assertThat(roomy.line())
        .startsWith("kafka broker: halting this process (Kafka's status 1, fatal); its log above")
        .endsWith("; its temporary data directory is deleted");
    assertThat(EmbeddedKafka.haltLine(dir, false, false, 1, null, -1, null).fullDisk())
        .as("a disk whose space cannot be read is not called full")
        .isFalse();
  }

  /** `rlhf broker --data-dir`: no stage runs, and the directory is kept for the next start. */
  @Test
  void aHaltOfABrokerWithItsOwnDirectorySaysTheDirectoryStays() {
    var line =
        EmbeddedKafka.haltLine(Path.of("/data/kafka"), false, false, 1, null, 1L << 30, null);
    assertThat(line.line())
        .isEqualTo(
            "kafka broker: halting this process (Kafka's status 1); its log above says why; its"
                + " data directory stays for a broker started on it again");
  }

  /**
   * The child JVM of the halt test: a broker whose process leaves {@code args[0]}, then the halt
   * Kafka calls on failed log dirs.
   */
  public static final class HaltingBroker {
    public static void main(String[] args) {
      var kafka = EmbeddedKafka.start(EmbeddedKafka.Options.defaults().withAfterHalt(args[0]));
      System.out.println(kafka.dataDir());
      System.out.flush();
      Exit.halt(1, null);
    }
  }

  /**
   * Records survive a restart on the same data directory; a second broker on it while the first
   * runs is refused before it reads the logs (Kafka would recover the first's metadata log as if it
   * had crashed, truncating it under the running broker), and the first keeps serving.
   */
  @Test
  void recordsSurviveARestartOnTheSameDataDirectory(@TempDir Path dir) throws Exception {
    var codec = AvroCodec.of(Prompt.class);
    var prompt = new Prompt("p-restart", "Count to three\n", Instant.ofEpochMilli(42), 0L, 0L);
    var later = new Prompt("p-later", "Count to four\n", Instant.ofEpochMilli(43), 0L, 0L);
    var options = EmbeddedKafka.Options.defaults().withDataDir(dir);
    try (var kafka = EmbeddedKafka.start(options);
        var producer =
            new KafkaProducer<byte[], byte[]>(
                KafkaClientConfigs.producer(kafka.bootstrapServers(), "t"))) {
      TopicProvisioner.provision(kafka.bootstrapServers(), TIMEOUT);
      producer
          .send(new ProducerRecord<>(Topics.PROMPTS, 0, null, codec.encode(prompt)))
          .get(30, TimeUnit.SECONDS);
      assertThatThrownBy(() -> EmbeddedKafka.start(options))
          .isInstanceOf(EmbeddedKafka.BrokerStartException.class)
          .hasMessage(
              "the data directory "
                  + dir
                  + " is in use by another process (this process): stop it, or choose another"
                  + " data directory");
      producer
          .send(new ProducerRecord<>(Topics.PROMPTS, 0, null, codec.encode(later)))
          .get(30, TimeUnit.SECONDS);
    }
    assertThat(dir.resolve("kraft-combined-logs")).isNotEmptyDirectory();

    try (var kafka = EmbeddedKafka.start(options);
        var consumer =
            new KafkaConsumer<byte[], byte[]>(
                KafkaClientConfigs.weightsConsumer(kafka.bootstrapServers(), "t"))) {
      var partition = new TopicPartition(Topics.PROMPTS, 0);
      consumer.assign(List.of(partition));
      consumer.seekToBeginning(List.of(partition));
      var read = new ArrayList<Prompt>();
      long deadline = System.nanoTime() + TIMEOUT.toNanos();
      while (read.size() < 2 && System.nanoTime() < deadline) {
        consumer.poll(Duration.ofMillis(500)).forEach(r -> read.add(codec.decode(r.value())));
      }
      assertThat(read).containsExactly(prompt, later);
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
