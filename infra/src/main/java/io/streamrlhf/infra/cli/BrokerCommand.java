package io.streamrlhf.infra.cli;

import io.streamrlhf.infra.exit.ExitHooks;
import io.streamrlhf.infra.kafka.BrokerUsers;
import io.streamrlhf.infra.kafka.ClientConfigFiles;
import io.streamrlhf.infra.kafka.EmbeddedKafka;
import io.streamrlhf.infra.kafka.TopicProvisioner;
import io.streamrlhf.learner.config.PpoConfig;
import io.streamrlhf.schemas.TopicSpec;
import io.streamrlhf.schemas.Topics;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.stream.Collectors;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
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
      "KRaft mode, one combined broker+controller node on 127.0.0.1; prints the bootstrap address and"
          + " serves until Ctrl-C.",
      "With --users, clients must log in (SASL_PLAINTEXT, mechanism PLAIN, on the client and the"
          + " controller listener) and may do only what their role needs (ACLs, nothing allowed"
          + " otherwise): the learner writes rlhf.prompts and rlhf.policy-weights and reads"
          + " rlhf.rollouts (and both topics it writes, to check whose they are); actors read"
          + " prompts and both weight topics and write rollouts and label requests; the reward"
          + " trainer reads rlhf.comparisons and writes rlhf.reward-weights (and reads it, to"
          + " check whose it is); labelers read label requests and write comparisons, the"
          + " gateway reads both and writes comparisons; every role may write rlhf.dead-letter;"
          + " admins may do anything. Without --users: PLAINTEXT, no authentication, no ACLs."
    })
public final class BrokerCommand implements Callable<Integer> {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Option(
      names = "--port",
      paramLabel = "PORT",
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
      names = "--users",
      paramLabel = "FILE",
      description =
          "Turns authentication and ACLs on. A Java properties file, one user per line:"
              + " NAME = ROLE:PASSWORD, ROLE one of admin, learner, actor, reward-trainer, labeler,"
              + " gateway. At least one admin: the broker logs in to itself as the first.")
  Path usersFile;

  @Option(
      names = "--client-configs",
      paramLabel = "DIR",
      description =
          "With --users: writes DIR/NAME.properties for every user (owner-only), the --kafka-config"
              + " file with which that user's processes log in.")
  Path clientConfigs;

  @Option(
      names = "--ready-timeout",
      paramLabel = "DURATION",
      defaultValue = "PT60S",
      description = "How long to wait for the broker to be ready (ISO-8601 duration).")
  Duration readyTimeout;

  @Option(
      names = "--prompt-partitions",
      paramLabel = "N",
      defaultValue = "4",
      description =
          "Partitions of rlhf.prompts when this broker creates it: the most actors that sample at"
              + " once (Kafka gives each partition to one actor of the group).")
  int promptPartitions;

  @Mixin CpuOptions cpus;

  @Override
  public Integer call() throws InterruptedException {
    cpus.pin(); // before the broker starts its threads
    // before Kafka tries it: its own failure comes after a page of logged bind errors
    ListenPort.require("127.0.0.1", port); // where Kafka will listen
    if (promptPartitions < 1 || promptPartitions > PpoConfig.MAX_PROMPT_PARTITIONS) {
      throw new UserError(
          "--prompt-partitions must be between 1 and "
              + PpoConfig.MAX_PROMPT_PARTITIONS
              + ", got "
              + promptPartitions);
    }
    if (readyTimeout.isNegative() || readyTimeout.isZero())
      throw new UserError("--ready-timeout must be a positive duration, got " + readyTimeout);
    if (clientConfigs != null && usersFile == null) {
      throw new UserError("--client-configs needs --users");
    }
    BrokerUsers users = null;
    if (usersFile != null) {
      try {
        users = BrokerUsers.load(usersFile);
      } catch (IllegalArgumentException e) {
        throw new UserError("--users " + e.getMessage(), e);
      }
    }
    // before the broker starts: it would be ready, then stop for a directory it cannot write
    if (clientConfigs != null) StageOptions.requireWritable("--client-configs", clientConfigs);
    // a model's checkpoint is no place for a broker's logs (and a resume's pruning would take them)
    if (dataDir != null) {
      StageOptions.requireNotAFile("--data-dir", dataDir);
      TaskFiles.requireOutsideCheckpoints(
          "--data-dir", dataDir, dataDir.toAbsolutePath().normalize());
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
      kafka = EmbeddedKafka.start(new EmbeddedKafka.Options(port, dataDir, readyTimeout, users));
    } catch (EmbeddedKafka.BrokerStartException e) {
      // stopped by a signal while it started: the stop, not a broker fault, and nothing to say
      if (ExitHooks.exiting()) return UserErrors.INTERNAL;
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

    var created = TopicProvisioner.provision(kafka.access(), readyTimeout, promptPartitions);
    if (users != null) {
      out.println(
          "Authentication on (SASL_PLAINTEXT, PLAIN) with ACLs for "
              + users.users().values().stream()
                  .map(BrokerUsers.User::toString)
                  .collect(Collectors.joining(", ")));
      if (clientConfigs != null) {
        for (var user : users.users().values()) {
          var file = ClientConfigFiles.write(clientConfigs, user);
          out.println("Client settings of " + user.name() + ": " + file);
        }
      }
    }
    int partitions = TopicProvisioner.partitions(kafka.access(), Topics.PROMPTS, readyTimeout);
    out.println(
        "Topics: "
            + Topics.provisioned().stream().map(TopicSpec::name).collect(Collectors.joining(", "))
            + " ("
            + created.size()
            + " created now; "
            + partitions
            + " prompt partitions)");
    if (partitions != promptPartitions
        && spec.commandLine().getParseResult().hasMatchedOption("--prompt-partitions")) {
      out.printf(
          "%s already exists in %s with %d partition(s): --prompt-partitions %d applies only to a"
              + " topic that does not exist yet (a new --data-dir makes one)%n",
          Topics.PROMPTS, dataDir, partitions, promptPartitions);
    }
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
