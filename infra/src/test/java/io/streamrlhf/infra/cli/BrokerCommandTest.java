package io.streamrlhf.infra.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamrlhf.schemas.TopicSpec;
import io.streamrlhf.schemas.Topics;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

class BrokerCommandTest {

  @Test
  void anOutOfRangePortIsAOneLineUserError() {
    var err = new StringWriter();
    var cli = Rlhf.commandLine();
    cli.setErr(new PrintWriter(err));

    int code = cli.execute("broker", "--port", "70000");

    assertThat(code).isEqualTo(2);
    assertThat(err.toString().strip())
        .isEqualTo("rlhf broker: --port must be in 0..65535, got 70000");
  }

  @Test
  void aPortInUseIsNamedInOneLineBeforeKafkaStarts() throws Exception {
    try (var taken = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      var err = new StringWriter();
      var out = new StringWriter();
      var cli = Rlhf.commandLine();
      cli.setErr(new PrintWriter(err));
      cli.setOut(new PrintWriter(out));

      int port = taken.getLocalPort();
      assertThat(cli.execute("broker", "--port", Integer.toString(port))).isEqualTo(2);
      assertThat(err.toString().strip())
          .startsWith("rlhf broker: cannot listen on 127.0.0.1:" + port + ": ")
          .endsWith("; stop what uses it, or choose another --port (0 picks a free one)")
          .doesNotContain("\n");
      assertThat(out.toString()).doesNotContain("Starting Kafka broker");
    }
  }

  @Test
  void promptPartitionsOutsideTheirRangeAreAOneLineUserError() {
    for (var partitions : new String[] {"0", "10000"}) {
      var err = new StringWriter();
      var cli = Rlhf.commandLine();
      cli.setErr(new PrintWriter(err));

      assertThat(cli.execute("broker", "--prompt-partitions", partitions)).isEqualTo(2);
      assertThat(err.toString().strip())
          .isEqualTo(
              "rlhf broker: --prompt-partitions must be between 1 and 1024, got " + partitions);
    }
  }

  @Test
  void aReadyTimeoutThatIsNotPositiveIsRefusedBeforeABrokerStarts() {
    // it started a broker and then said it was not ready within PT0S
    for (var timeout : new String[] {"PT0S", "-PT5S"}) {
      var err = new StringWriter();
      var out = new StringWriter();
      var cli = Rlhf.commandLine();
      cli.setErr(new PrintWriter(err));
      cli.setOut(new PrintWriter(out));
      assertThat(cli.execute("broker", "--port", "0", "--ready-timeout", timeout)).isEqualTo(2);
      assertThat(err.toString().strip())
          .startsWith("rlhf broker: --ready-timeout must be a positive duration");
      assertThat(out.toString()).doesNotContain("Starting Kafka broker");
    }
  }

  @Test
  void aDataDirectoryInsideAModelsCheckpointIsRefusedBeforeABrokerStarts(@TempDir Path dir)
      throws Exception {
    io.streamrlhf.infra.chaos.TinyModels.write(dir); // dir/sft, a checkpoint
    var sft = dir.resolve("sft").toAbsolutePath().normalize();
    for (var into : List.of(sft, sft.resolve("kafka"))) {
      var err = new StringWriter();
      var out = new StringWriter();
      var cli = Rlhf.commandLine();
      cli.setErr(new PrintWriter(err));
      cli.setOut(new PrintWriter(out));
      assertThat(cli.execute("broker", "--port", "0", "--data-dir", into.toString())).isEqualTo(2);
      assertThat(err.toString().strip())
          .isEqualTo(
              "rlhf broker: --data-dir "
                  + into
                  + " is inside the checkpoint in "
                  + sft
                  + ": choose an --data-dir outside it");
      assertThat(out.toString()).doesNotContain("Starting Kafka broker");
    }
    assertThat(sft.resolve("kafka")).doesNotExist();
    assertThat(sft.resolve(".lock")).doesNotExist();

    // a file: said so, not "cannot create the broker's data directory"
    var file = java.nio.file.Files.writeString(dir.resolve("notes.txt"), "mine");
    var err = new StringWriter();
    var cli = Rlhf.commandLine();
    cli.setErr(new PrintWriter(err));
    cli.setOut(new PrintWriter(new StringWriter()));
    assertThat(cli.execute("broker", "--port", "0", "--data-dir", file.toString())).isEqualTo(2);
    assertThat(err.toString().strip())
        .isEqualTo("rlhf broker: --data-dir " + file + " is a file: give a directory");
    assertThat(file).hasContent("mine");
  }

  /** The real command in its own JVM: ready line, topics provisioned, clean stop on SIGTERM. */
  @Test
  @Timeout(value = 3, unit = TimeUnit.MINUTES)
  void theBrokerServesTheLoopsTopicsUntilTerminated(@TempDir Path dir) throws Exception {
    var dataDir = dir.resolve("kafka");
    var stderr = dir.resolve("stderr.txt");
    var process = broker(dataDir, 6, stderr);
    try (var out =
        new BufferedReader(
            new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
      var ready = Pattern.compile("Kafka broker ready at (127\\.0\\.0\\.1:\\d+)");
      String bootstrap = null;
      String topics = null;
      for (String line; bootstrap == null && (line = out.readLine()) != null; ) {
        if (line.startsWith("Topics: ")) topics = line;
        var m = ready.matcher(line);
        if (m.find()) {
          bootstrap = m.group(1);
        }
      }
      assertThat(topics).endsWith(" created now; 6 prompt partitions)");
      assertThat(bootstrap).as("ready line; stderr: %s", readQuietly(stderr)).isNotNull();

      try (var admin =
          Admin.create(
              Map.<String, Object>of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap))) {
        var names = admin.listTopics().names().get(30, TimeUnit.SECONDS);
        assertThat(names).containsAll(Topics.provisioned().stream().map(TopicSpec::name).toList());
        var prompts =
            admin
                .describeTopics(List.of(Topics.PROMPTS))
                .allTopicNames()
                .get(30, TimeUnit.SECONDS)
                .get(Topics.PROMPTS);
        assertThat(prompts.partitions()).hasSize(6);
      }
    } finally {
      process.destroy(); // SIGTERM: the shutdown hook stops the broker
    }
    assertThat(process.waitFor(60, TimeUnit.SECONDS)).as("exited after SIGTERM").isTrue();
    assertThat(dataDir.resolve("kraft-combined-logs").resolve("meta.properties"))
        .as("--data-dir kept")
        .exists();

    // the same --data-dir again, asking for more partitions: the topic keeps its 6, and says so
    var again = broker(dataDir, 8, stderr);
    var lines = new ArrayList<String>();
    try (var out =
        new BufferedReader(new InputStreamReader(again.getInputStream(), StandardCharsets.UTF_8))) {
      for (String line; (line = out.readLine()) != null; ) {
        lines.add(line);
        if (line.startsWith("Kafka broker ready at ")) break;
      }
    } finally {
      again.destroy();
    }
    assertThat(again.waitFor(60, TimeUnit.SECONDS)).as("exited after SIGTERM").isTrue();
    assertThat(lines)
        .as("stderr: %s", readQuietly(stderr))
        .anyMatch(l -> l.endsWith(" created now; 6 prompt partitions)"))
        .contains(
            "rlhf.prompts already exists in "
                + dataDir
                + " with 6 partition(s): --prompt-partitions 8 applies only to a topic that does"
                + " not exist yet (a new --data-dir makes one)");
  }

  /**
   * SIGTERM while the broker starts (Ctrl-C in a run's first seconds): no directory left behind.
   */
  @Test
  @Timeout(value = 3, unit = TimeUnit.MINUTES)
  void aBrokerTerminatedWhileItStartsTakesItsTemporaryDirectoryWithIt(@TempDir Path dir)
      throws Exception {
    var tmp = Files.createDirectories(dir.resolve("tmp"));
    var output = dir.resolve("output.txt");
    try (var watcher = FileSystems.getDefault().newWatchService()) {
      tmp.register(watcher, StandardWatchEventKinds.ENTRY_CREATE);
      var process =
          CliRun.inChildJvm(List.of("-Djava.io.tmpdir=" + tmp), "broker", "--port", "0")
              .redirectErrorStream(true)
              .redirectOutput(output.toFile())
              .start();
      try {
        // the data directory is the start's first act, and the start takes seconds after it
        boolean created = false;
        while (!created) {
          var key = watcher.poll(60, TimeUnit.SECONDS);
          assertThat(key).as("a data directory; output: %s", readQuietly(output)).isNotNull();
          created =
              key.pollEvents().stream()
                  .anyMatch(e -> e.context().toString().startsWith("rlhf-kafka-"));
          key.reset();
        }
      } finally {
        process.destroy();
      }
      assertThat(process.waitFor(120, TimeUnit.SECONDS)).as("exited after SIGTERM").isTrue();
    }
    assertThat(readQuietly(output)).as("terminated before it served").doesNotContain("Topics: ");
    try (var left = Files.list(tmp)) {
      assertThat(left.map(p -> p.getFileName().toString()))
          .as("output: %s", readQuietly(output))
          .noneMatch(name -> name.startsWith("rlhf-kafka-"));
    }
  }

  private static String readQuietly(Path file) {
    try {
      return Files.readString(file);
    } catch (Exception e) {
      return "(unreadable: " + e + ")";
    }
  }

  /** rlhf broker in its own JVM on {@code dataDir}, asking for {@code partitions} prompt ones. */
  private static Process broker(Path dataDir, int partitions, Path stderr) throws IOException {
    return CliRun.inChildJvm(
            List.of(),
            "broker",
            "--port",
            "0",
            "--data-dir",
            dataDir.toString(),
            "--prompt-partitions",
            Integer.toString(partitions))
        .redirectError(stderr.toFile())
        .start();
  }
}
