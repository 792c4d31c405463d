package io.streamrlhf.infra.kafka;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.utils.Time;
import org.apache.kafka.common.utils.Utils;
import org.apache.kafka.metadata.storage.Formatter;
import org.apache.kafka.server.common.MetadataVersion;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real Apache Kafka broker in KRaft mode, in this JVM: one node that is both broker and
 * controller (the embedded default of DESIGN.md, "Real parts"), listening on 127.0.0.1.
 *
 * <p>Starting does what {@code kafka-storage.sh format} and {@code kafka-server-start.sh} do: the
 * log directory is formatted with a fresh cluster id (Kafka's own {@link Formatter}) unless it
 * already holds a formatted one, then a {@link KafkaRaftServer} starts with a static quorum of
 * itself ({@code controller.quorum.voters}), and {@link #start} returns once an AdminClient sees
 * the broker registered and unfenced. Closing shuts it down and deletes the directory if it was a
 * temporary one.
 */
public final class EmbeddedKafka implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(EmbeddedKafka.class);
  private static final int NODE_ID = 1;
  private static final String HOST = "127.0.0.1";

  private final KafkaRaftServer server;
  private final Path dataDir;
  private final boolean temporary;
  private final String bootstrapServers;
  private final Duration startupTime;
  private boolean closed;

  /**
   * @param port the client port; 0 picks a free one
   * @param dataDir where the logs live (kept across restarts); null for a temporary directory that
   *     {@link #close} deletes
   * @param readyTimeout how long to wait for the broker to become ready
   */
  public record Options(int port, Path dataDir, Duration readyTimeout) {
    public static Options defaults() {
      return new Options(0, null, Duration.ofSeconds(60));
    }

    public Options withPort(int newPort) {
      return new Options(newPort, dataDir, readyTimeout);
    }

    public Options withDataDir(Path dir) {
      return new Options(port, dir, readyTimeout);
    }
  }

  private EmbeddedKafka(
      KafkaRaftServer server,
      Path dataDir,
      boolean temporary,
      String bootstrapServers,
      Duration startupTime) {
    this.server = server;
    this.dataDir = dataDir;
    this.temporary = temporary;
    this.bootstrapServers = bootstrapServers;
    this.startupTime = startupTime;
  }

  /** A broker on a free port with a temporary data directory. */
  public static EmbeddedKafka start() {
    return start(Options.defaults());
  }

  /**
   * Formats storage if needed, starts the broker and waits until it is ready.
   *
   * @throws BrokerStartException when the port is taken, the directory is unusable, or the broker
   *     is not ready within the timeout
   */
  public static EmbeddedKafka start(Options options) {
    long t0 = System.nanoTime();
    boolean temporary = options.dataDir() == null;
    Path dir;
    try {
      dir =
          temporary
              ? Files.createTempDirectory("rlhf-kafka-")
              : Files.createDirectories(options.dataDir());
    } catch (IOException e) {
      throw new BrokerStartException(
          "cannot create the broker's data directory: " + e.getMessage(), e);
    }
    KafkaRaftServer server = null;
    try {
      var logDir = dir.resolve("kraft-combined-logs").toAbsolutePath();
      Files.createDirectories(logDir);
      int port = options.port() == 0 ? freePort() : options.port();
      int controllerPort = freePort();
      formatIfNeeded(logDir);
      long formatted = System.nanoTime();
      server =
          new KafkaRaftServer(
              new KafkaConfig(serverConfig(logDir, port, controllerPort), false), Time.SYSTEM);
      try {
        server.startup();
      } catch (RuntimeException e) {
        if (hasCause(e, BindException.class)) {
          throw new BrokerStartException(
              "cannot listen on "
                  + HOST
                  + ":"
                  + port
                  + " (clients) and "
                  + HOST
                  + ":"
                  + controllerPort
                  + " (controller): address already in use; choose another port",
              e);
        }
        throw e;
      }
      long started = System.nanoTime();
      var bootstrap = HOST + ":" + port;
      awaitReady(bootstrap, t0, options.readyTimeout());
      long ready = System.nanoTime();
      var took = Duration.ofNanos(ready - t0);
      log.info(
          "Kafka broker ready at {} in {} ms (format {} ms, server start {} ms, AdminClient check {} ms; data in {})",
          bootstrap,
          took.toMillis(),
          ms(formatted - t0),
          ms(started - formatted),
          ms(ready - started),
          dir);
      return new EmbeddedKafka(server, dir, temporary, bootstrap, took);
    } catch (RuntimeException | IOException e) {
      if (server != null) {
        shutdown(server);
      }
      if (temporary) {
        deleteQuietly(dir);
      }
      if (e instanceof BrokerStartException b) {
        throw b;
      }
      throw new BrokerStartException(
          "the embedded Kafka broker did not start: " + rootMessage(e), e);
    }
  }

  /** Kafka's own format step (as {@code kafka-storage.sh format}): skipped if already formatted. */
  private static void formatIfNeeded(Path logDir) throws IOException {
    if (Files.exists(logDir.resolve("meta.properties"))) {
      return; // formatted by an earlier run: keep its cluster id and data
    }
    var quiet = new PrintStream(OutputStream.nullOutputStream());
    try {
      new Formatter()
          .setPrintStream(quiet)
          .setNodeId(NODE_ID)
          .setClusterId(Uuid.randomUuid().toString())
          .addDirectory(logDir.toString())
          .setMetadataLogDirectory(logDir.toString())
          .setControllerListenerName("CONTROLLER")
          .setReleaseVersion(MetadataVersion.LATEST_PRODUCTION)
          .run();
    } catch (Exception e) {
      throw new BrokerStartException(
          "cannot format Kafka storage in " + logDir + ": " + rootMessage(e), e);
    }
  }

  /** The server.properties of a single combined broker+controller node. */
  private static Map<String, Object> serverConfig(Path logDir, int port, int controllerPort) {
    var p = new HashMap<String, Object>();
    p.put("process.roles", "broker,controller");
    p.put("node.id", Integer.toString(NODE_ID));
    p.put("controller.quorum.voters", NODE_ID + "@" + HOST + ":" + controllerPort);
    p.put("controller.listener.names", "CONTROLLER");
    p.put(
        "listeners",
        "PLAINTEXT://" + HOST + ":" + port + ",CONTROLLER://" + HOST + ":" + controllerPort);
    p.put("advertised.listeners", "PLAINTEXT://" + HOST + ":" + port);
    p.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
    p.put("inter.broker.listener.name", "PLAINTEXT");
    p.put("log.dirs", logDir.toString());
    p.put("metadata.log.dir", logDir.toString());
    // One node: every internal topic has one replica.
    p.put("offsets.topic.replication.factor", "1");
    p.put("offsets.topic.num.partitions", "4");
    p.put("transaction.state.log.replication.factor", "1");
    p.put("transaction.state.log.min.isr", "1");
    p.put("transaction.state.log.num.partitions", "4");
    p.put("share.coordinator.state.topic.replication.factor", "1");
    p.put("share.coordinator.state.topic.min.isr", "1");
    // Topics come from TopicProvisioner only: a misspelt topic name fails instead of appearing.
    p.put("auto.create.topics.enable", "false");
    // Consumer groups form at once instead of waiting 3 s for more members.
    p.put("group.initial.rebalance.delay.ms", "0");
    // The floor of the groups' session timeout (KafkaClientConfigs asks for exactly this, so a dead
    // actor's partitions move within seconds); the stock default, kept explicit because they agree.
    p.put("group.min.session.timeout.ms", "6000");
    // Small machine, shared: few threads, and a small log-cleaner buffer (default 128 MiB).
    p.put("num.network.threads", "2");
    p.put("num.io.threads", "2");
    p.put("background.threads", "2");
    p.put("num.recovery.threads.per.data.dir", "1");
    p.put("log.cleaner.threads", "1");
    p.put("log.cleaner.dedupe.buffer.size", Integer.toString(8 << 20));
    return p;
  }

  /**
   * Ready means an AdminClient sees this node in describeCluster, which lists only registered,
   * unfenced brokers: from then on topics can be created and records produced.
   */
  private static void awaitReady(String bootstrap, long t0, Duration timeout) {
    long deadline = t0 + timeout.toNanos();
    try (var admin =
        Admin.create(
            Map.of(
                AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG,
                bootstrap,
                AdminClientConfig.CLIENT_ID_CONFIG,
                "rlhf-embedded-kafka-ready"))) {
      while (true) {
        long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
        if (left <= 0) {
          throw new BrokerStartException(
              "the embedded Kafka broker at " + bootstrap + " was not ready within " + timeout,
              null);
        }
        try {
          var nodes =
              admin
                  .describeCluster(new DescribeClusterOptions().timeoutMs((int) left))
                  .nodes()
                  .get(left, TimeUnit.MILLISECONDS);
          if (nodes.stream().anyMatch(n -> n.id() == NODE_ID)) {
            return;
          }
        } catch (ExecutionException | TimeoutException e) {
          log.debug("broker not ready yet: {}", e.toString());
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new BrokerStartException("interrupted while waiting for the broker", e);
    }
  }

  /** "host:port" for clients' bootstrap.servers. */
  public String bootstrapServers() {
    return bootstrapServers;
  }

  /** From {@link #start} called to ready (format, start, first successful AdminClient call). */
  public Duration startupTime() {
    return startupTime;
  }

  public Path dataDir() {
    return dataDir;
  }

  /** Shuts the broker down and waits for it; deletes the data directory if it was temporary. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    shutdown(server);
    if (temporary) {
      deleteQuietly(dataDir);
    }
  }

  private static void shutdown(KafkaRaftServer server) {
    server.shutdown();
    server.awaitShutdown();
  }

  private static void deleteQuietly(Path dir) {
    try {
      Utils.delete(dir.toFile());
    } catch (IOException e) {
      log.warn("could not delete the broker's temporary directory {}: {}", dir, e.toString());
    }
  }

  /**
   * A port free right now. Another process could take it before Kafka binds; the broker then fails
   * to start with a clear error rather than using a wrong port.
   */
  static int freePort() {
    try (var socket = new ServerSocket()) {
      socket.setReuseAddress(false);
      socket.bind(new InetSocketAddress(InetAddress.getByName(HOST), 0));
      return socket.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException("no free port on " + HOST, e);
    }
  }

  private static long ms(long nanos) {
    return TimeUnit.NANOSECONDS.toMillis(nanos);
  }

  private static boolean hasCause(Throwable e, Class<? extends Throwable> type) {
    for (var c = e; c != null; c = c.getCause() == c ? null : c.getCause()) {
      if (type.isInstance(c)) {
        return true;
      }
    }
    return false;
  }

  private static String rootMessage(Throwable e) {
    var root = e;
    while (root.getCause() != null && root.getCause() != root) {
      root = root.getCause();
    }
    return root == e ? e.toString() : e.getMessage() + " (" + root + ")";
  }

  /** The broker could not be started; the message says why. */
  public static final class BrokerStartException extends RuntimeException {
    public BrokerStartException(String message, Throwable cause) {
      super(message, cause);
    }
  }
}
