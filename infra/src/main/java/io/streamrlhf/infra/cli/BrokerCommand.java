package io.streamrlhf.infra.cli;

import io.streamrlhf.infra.kafka.EmbeddedKafka;
import io.streamrlhf.infra.kafka.TopicProvisioner;
import io.streamrlhf.schemas.TopicSpec;
import io.streamrlhf.schemas.Topics;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.stream.Collectors;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code rlhf broker}: the embedded Kafka broker on its own, for actors and a learner started as
 * separate processes ({@code --bootstrap 127.0.0.1:PORT}). Runs until Ctrl-C (or SIGTERM), then
 * shuts the broker down cleanly.
 */
@Command(
    name = "broker",
    mixinStandardHelpOptions = true,
    showDefaultValues = true,
    description = {
      "Runs a real Apache Kafka broker in this process and creates the loop's topics.",
      "KRaft mode, one combined broker+controller node on 127.0.0.1; prints the bootstrap address and",
      "serves until Ctrl-C."
    })
public final class BrokerCommand implements Callable<Integer> {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Option(
      names = "--port",
      defaultValue = "9092",
      description =
          "Client port on 127.0.0.1 (0 picks a free one). The controller gets a free port of its own.")
  int port;

  @Option(
      names = "--data-dir",
      paramLabel = "DIR",
      description =
          "Directory for the broker's logs, kept across runs (formatted on first use). "
              + "Default: a temporary directory, deleted on exit.")
  Path dataDir;

  @Option(
      names = "--ready-timeout",
      defaultValue = "PT60S",
      description = "How long to wait for the broker to be ready (ISO-8601 duration).")
  Duration readyTimeout;

  @Override
  public Integer call() throws InterruptedException {
    if (port < 0 || port > 65_535) {
      throw new UserError("--port must be in 0..65535, got " + port);
    }
    var out = spec.commandLine().getOut();
    out.println(
        "Starting Kafka broker (KRaft) on 127.0.0.1"
            + (port == 0 ? "" : ":" + port)
            + (dataDir == null ? " with a temporary data directory" : " with data in " + dataDir)
            + "...");
    out.flush();
    EmbeddedKafka kafka;
    try {
      kafka = EmbeddedKafka.start(new EmbeddedKafka.Options(port, dataDir, readyTimeout));
    } catch (EmbeddedKafka.BrokerStartException e) {
      throw new UserError(e.getMessage(), e);
    }
    var stopped = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  out.println("Stopping Kafka broker at " + kafka.bootstrapServers() + "...");
                  out.flush();
                  kafka.close();
                  out.println("Kafka broker stopped.");
                  out.flush();
                  stopped.countDown();
                },
                "rlhf-broker-shutdown"));

    var created = TopicProvisioner.provision(kafka.bootstrapServers(), readyTimeout);
    out.println(
        "Topics: "
            + Topics.provisioned().stream().map(TopicSpec::name).collect(Collectors.joining(", "))
            + " ("
            + created.size()
            + " created now)");
    out.println(
        "Kafka broker ready at "
            + kafka.bootstrapServers()
            + " (started in "
            + kafka.startupTime().toMillis()
            + " ms). Ctrl-C to stop.");
    out.flush();
    stopped.await();
    return 0;
  }
}
