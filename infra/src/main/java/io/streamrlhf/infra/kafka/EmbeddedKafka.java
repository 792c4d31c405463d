package io.streamrlhf.infra.kafka;

import io.streamrlhf.infra.exit.ExitHooks;
import io.streamrlhf.model.checkpoint.OutputLock;
import io.streamrlhf.schemas.transport.Durations;
import io.streamrlhf.schemas.transport.KafkaAccess;
import io.streamrlhf.schemas.transport.KafkaClientConfigs;
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
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Collectors;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.utils.Exit;
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
 *
 * <p>By default every listener is PLAINTEXT and anyone who reaches the port may do anything. With
 * {@link BrokerUsers} ({@link Options#withUsers}) both listeners, the clients' and the KRaft
 * controller's, require SASL/PLAIN logins, and Kafka's {@code StandardAuthorizer} allows each user
 * only what its {@link LoopRole} needs ({@code allow.everyone.if.no.acl.found=false}; admins are
 * super users, and the broker logs in to itself as one). Traffic is not encrypted: SASL/PLAIN sends
 * passwords in the clear, which is fine on loopback and not beyond it (put SSL in front).
 */
public final class EmbeddedKafka implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(EmbeddedKafka.class);
  private static final int NODE_ID = 1;
  private static final String HOST = "127.0.0.1";
  private static final String SASL_MECHANISM = "PLAIN";
  private static final String PLAIN_LOGIN_MODULE =
      "org.apache.kafka.common.security.plain.PlainLoginModule";

  /**
   * The exit status of a process whose broker halted it on a full disk: rlhf's exit code for a
   * failure of the machine.
   */
  public static final int FULL_DISK_STATUS = 4;

  /** Below this many free bytes on its disk, a broker that halted is taken to have filled it. */
  static final long FULL_DISK_BYTES = 16L << 20;

  /** The data directories of this JVM's brokers, started or starting, with what a halt says. */
  private static final Map<Path, Running> RUNNING = new ConcurrentHashMap<>();

  /** A broker of this JVM: whether its directory is temporary, what stays if it halts (or null). */
  private record Running(boolean temporary, String afterHalt) {}

  static {
    Exit.setHaltProcedure(EmbeddedKafka::halt);
  }

  private final KafkaRaftServer server;
  private final Path dataDir;
  private final boolean temporary;
  private final OutputLock lock; // a data directory of its own: one broker at a time; else null
  private final String bootstrapServers;
  private final BrokerUsers users;
  private final Duration startupTime;
  private boolean closed;

  /**
   * Closes a broker with a temporary directory when the JVM exits before {@link #close}: Ctrl-C or
   * SIGTERM on a run left hundreds of MB of logs in the temp directory for good.
   */
  private final Thread closeOnExit;

  /**
   * @param port the client port; 0 picks a free one
   * @param dataDir where the logs live (kept across restarts); null for a temporary directory that
   *     {@link #close} deletes
   * @param readyTimeout how long to wait for the broker to become ready
   * @param users who may log in, and as what; null: no authentication, no ACLs (PLAINTEXT)
   * @param afterHalt what the process that runs this broker leaves for its user if Kafka halts it
   *     (a stage: the checkpoint in force), said at the end of the halt's line; null: nothing
   */
  public record Options(
      int port, Path dataDir, Duration readyTimeout, BrokerUsers users, String afterHalt) {
    /** A PLAINTEXT broker. */
    public Options(int port, Path dataDir, Duration readyTimeout) {
      this(port, dataDir, readyTimeout, null);
    }

    public Options(int port, Path dataDir, Duration readyTimeout, BrokerUsers users) {
      this(port, dataDir, readyTimeout, users, null);
    }

    public static Options defaults() {
      return new Options(0, null, Duration.ofSeconds(60));
    }

    public Options withPort(int newPort) {
      return new Options(newPort, dataDir, readyTimeout, users, afterHalt);
    }

    public Options withDataDir(Path dir) {
      return new Options(port, dir, readyTimeout, users, afterHalt);
    }

    /** SASL/PLAIN logins for {@code brokerUsers} and ACLs by their roles. */
    public Options withUsers(BrokerUsers brokerUsers) {
      return new Options(port, dataDir, readyTimeout, brokerUsers, afterHalt);
    }

    /** What stays for the user if Kafka halts this process, e.g. a stage's checkpoint. */
    public Options withAfterHalt(String whatStays) {
      return new Options(port, dataDir, readyTimeout, users, whatStays);
    }
  }

  private EmbeddedKafka(
      KafkaRaftServer server,
      Path dataDir,
      boolean temporary,
      OutputLock lock,
      String bootstrapServers,
      BrokerUsers users,
      Duration startupTime) {
    this.server = server;
    this.dataDir = dataDir;
    this.temporary = temporary;
    this.lock = lock;
    this.bootstrapServers = bootstrapServers;
    this.users = users;
    this.startupTime = startupTime;
    this.closeOnExit =
        temporary ? new Thread(this::closeAsTheJvmExits, "rlhf-kafka-close-on-exit") : null;
    if (closeOnExit != null) Runtime.getRuntime().addShutdownHook(closeOnExit);
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
    if (options.dataDir() != null) return launch(options);
    // A temporary broker killed while it starts (Ctrl-C in a run's first seconds) would leave its
    // directory behind: the JVM's exit waits until the start has deleted it after a failure, or
    // handed the broker to its own exit hook (a start that is still going when the JVM exits fails,
    // as that hook cannot be added any more).
    var settled = new CountDownLatch(1);
    var waitForStart =
        new Thread(
            () -> {
              try {
                settled.await(options.readyTimeout().toSeconds() + 30, TimeUnit.SECONDS);
              } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
              }
            },
            "rlhf-kafka-starting");
    try {
      Runtime.getRuntime().addShutdownHook(waitForStart);
    } catch (IllegalStateException exiting) {
      throw new BrokerStartException("the JVM is exiting: no broker started", exiting);
    }
    try {
      return launch(options);
    } finally {
      settled.countDown();
      ExitHooks.remove(waitForStart); // false when the hook is running: it returns now
    }
  }

  private static EmbeddedKafka launch(Options options) {
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
    // Before Kafka reads a byte of it: a second broker on a directory in use recovers the first's
    // metadata log as if it had crashed, truncating what the first is still writing, which kills
    // the first broker before Kafka's own log-directory lock refuses the second.
    OutputLock lock = null;
    if (!temporary) {
      try {
        lock = OutputLock.acquire(dir);
      } catch (OutputLock.HeldException e) {
        throw new BrokerStartException(
            "the data directory "
                + dir
                + " is in use by another process ("
                + e.holder()
                + "): stop it, or choose another data directory",
            e);
      } catch (IOException e) {
        throw new BrokerStartException(
            "cannot lock the broker's data directory " + dir + ": " + e.getMessage(), e);
      }
    }
    KafkaRaftServer server = null;
    // from here on, a halt by Kafka is reported and cleans up
    RUNNING.put(dir, new Running(temporary, options.afterHalt()));
    try {
      var logDir = dir.resolve("kraft-combined-logs").toAbsolutePath();
      Files.createDirectories(logDir);
      int port = options.port() == 0 ? freePort() : options.port();
      int controllerPort = freePort();
      formatIfNeeded(logDir);
      long formatted = System.nanoTime();
      server =
          new KafkaRaftServer(
              new KafkaConfig(serverConfig(logDir, port, controllerPort, options.users()), false),
              Time.SYSTEM);
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
      var admin = access(bootstrap, options.users(), null);
      awaitReady(admin, t0, options.readyTimeout());
      if (options.users() != null) grantRoles(admin, options.users(), options.readyTimeout());
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
      return new EmbeddedKafka(server, dir, temporary, lock, bootstrap, options.users(), took);
    } catch (RuntimeException | IOException | Error e) {
      // an Error too: Kafka's classes fail to initialise when the JVM is exiting during the start
      try {
        if (server != null) shutdown(server);
      } catch (RuntimeException shutdownFailed) {
        e.addSuppressed(shutdownFailed);
      } finally {
        RUNNING.remove(dir);
        release(lock);
      }
      if (temporary) {
        deleteQuietly(dir);
      }
      if (e instanceof Error error) throw error;
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
      // Kafka's FormatterException keeps the system's words ("No space left on device") only in
      // its message: an IOException cause carries them to whoever tells the machine's failures
      var message = "cannot format Kafka storage in " + logDir + ": " + rootMessage(e);
      throw new BrokerStartException(message, new IOException(message, e));
    }
  }

  /** The server.properties of a single combined broker+controller node. */
  private static Map<String, Object> serverConfig(
      Path logDir, int port, int controllerPort, BrokerUsers users) {
    var p = new HashMap<String, Object>();
    p.put("process.roles", "broker,controller");
    p.put("node.id", Integer.toString(NODE_ID));
    p.put("controller.quorum.voters", NODE_ID + "@" + HOST + ":" + controllerPort);
    p.put("controller.listener.names", "CONTROLLER");
    var clients = users == null ? "PLAINTEXT" : "SASL_PLAINTEXT";
    p.put(
        "listeners",
        clients + "://" + HOST + ":" + port + ",CONTROLLER://" + HOST + ":" + controllerPort);
    p.put("advertised.listeners", clients + "://" + HOST + ":" + port);
    p.put("listener.security.protocol.map", clients + ":" + clients + ",CONTROLLER:" + clients);
    p.put("inter.broker.listener.name", clients);
    if (users != null) p.putAll(authentication(users));
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
    // Autotuned socket buffers, not fixed 100 KiB ones: weight versions arrive as multi-MiB
    // requests.
    p.put("socket.receive.buffer.bytes", "-1");
    p.put("socket.send.buffer.bytes", "-1");
    return p;
  }

  /**
   * SASL/PLAIN on both listeners, users from the JAAS config (Kafka's built-in PLAIN server checks
   * passwords against its {@code user_NAME} entries), and the KRaft authorizer with nothing allowed
   * unless an ACL says so. The broker logs in to its own listeners, inter-broker and to the
   * controller, as {@link BrokerUsers#brokerLogin}; admins are super users.
   */
  private static Map<String, Object> authentication(BrokerUsers users) {
    var p = new HashMap<String, Object>();
    var login = users.brokerLogin();
    var jaas = new StringBuilder(PLAIN_LOGIN_MODULE + " required");
    jaas.append(" username=\"").append(login.name()).append("\"");
    jaas.append(" password=\"").append(login.password()).append("\"");
    for (var user : users.users().values()) {
      jaas.append(" user_").append(user.name()).append("=\"").append(user.password()).append("\"");
    }
    jaas.append(';');
    p.put("sasl.enabled.mechanisms", SASL_MECHANISM);
    p.put("sasl.mechanism.inter.broker.protocol", SASL_MECHANISM);
    p.put("sasl.mechanism.controller.protocol", SASL_MECHANISM);
    p.put("listener.name.sasl_plaintext.plain.sasl.jaas.config", jaas.toString());
    p.put("listener.name.controller.plain.sasl.jaas.config", jaas.toString());
    p.put("authorizer.class.name", "org.apache.kafka.metadata.authorizer.StandardAuthorizer");
    p.put("allow.everyone.if.no.acl.found", "false");
    p.put(
        "super.users",
        users.admins().stream().map(u -> "User:" + u.name()).collect(Collectors.joining(";")));
    return p;
  }

  /** Creates the ACLs of every user's role (creating an existing ACL again changes nothing). */
  private static void grantRoles(KafkaAccess admin, BrokerUsers users, Duration timeout) {
    var acls = new ArrayList<AclBinding>();
    for (var user : users.users().values()) acls.addAll(user.role().acls(user.name()));
    if (acls.isEmpty()) return;
    try (var client = Admin.create(KafkaClientConfigs.admin(admin, "rlhf-embedded-kafka-acls"))) {
      client.createAcls(acls).all().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
      log.info("granted {} ACLs to {}", acls.size(), users);
    } catch (ExecutionException | TimeoutException e) {
      throw new BrokerStartException("could not create the users' ACLs: " + rootMessage(e), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new BrokerStartException("interrupted while creating ACLs", e);
    }
  }

  /** How a client logs in as {@code user} (the broker's own login when null) to this broker. */
  private static KafkaAccess access(String bootstrap, BrokerUsers users, String user) {
    if (users == null) return KafkaAccess.plaintext(bootstrap);
    var u = user == null ? users.brokerLogin() : users.user(user);
    return new KafkaAccess(bootstrap, clientSettings(u));
  }

  /**
   * The client settings ({@code --kafka-config} file entries) with which {@code user} logs in to a
   * broker started with users.
   */
  public static Map<String, String> clientSettings(BrokerUsers.User user) {
    return Map.of(
        "security.protocol",
        "SASL_PLAINTEXT",
        "sasl.mechanism",
        SASL_MECHANISM,
        "sasl.jaas.config",
        PLAIN_LOGIN_MODULE
            + " required username=\""
            + user.name()
            + "\" password=\""
            + user.password()
            + "\";");
  }

  /**
   * Ready means an AdminClient sees this node in describeCluster, which lists only registered,
   * unfenced brokers: from then on topics can be created and records produced.
   */
  private static void awaitReady(KafkaAccess access, long t0, Duration timeout) {
    var bootstrap = access.bootstrapServers();
    long deadline = t0 + timeout.toNanos();
    try (var admin = Admin.create(KafkaClientConfigs.admin(access, "rlhf-embedded-kafka-ready"))) {
      while (true) {
        long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
        if (left <= 0) {
          throw new BrokerStartException(
              "the embedded Kafka broker at "
                  + bootstrap
                  + " was not ready within "
                  + Durations.readable(timeout),
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

  /** How a client gets in with every right: plaintext, or as the broker's own admin login. */
  public KafkaAccess access() {
    return access(bootstrapServers, users, null);
  }

  /**
   * How a client logs in as {@code user} of the broker's {@link BrokerUsers}.
   *
   * @throws IllegalArgumentException when the broker has no such user, or no users at all
   */
  public KafkaAccess access(String user) {
    if (users == null)
      throw new IllegalArgumentException("this broker runs without users (PLAINTEXT)");
    return access(bootstrapServers, users, user);
  }

  /** Its users, or empty for a PLAINTEXT broker. */
  public Optional<BrokerUsers> users() {
    return Optional.ofNullable(users);
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
    if (closeOnExit != null && Thread.currentThread() != closeOnExit) {
      // false when the JVM is exiting: the hook runs too, and finds the broker closed
      ExitHooks.remove(closeOnExit);
    }
    try {
      shutdown(server);
    } finally {
      RUNNING.remove(dataDir);
      release(lock);
      if (temporary) {
        deleteQuietly(dataDir);
      }
    }
  }

  private static void release(OutputLock lock) {
    if (lock == null) return;
    try {
      lock.close();
    } catch (IOException e) {
      log.warn("could not release the lock of the broker's data directory: {}", e.toString());
    }
  }

  /**
   * What Kafka calls instead of {@code Runtime.halt}: a broker halts its JVM when every log
   * directory has failed, a full disk the usual cause, and nothing of ours hears of it. Say so in
   * one line, give a temporary data directory's space back (no exit hook runs after a halt), then
   * halt as Kafka would, with {@link #FULL_DISK_STATUS} when the disk is full.
   */
  private static synchronized void halt(int status, String message) {
    int exit = status;
    for (var broker : RUNNING.entrySet()) {
      var dir = broker.getKey();
      long free;
      try {
        free = Files.getFileStore(dir).getUsableSpace();
      } catch (IOException e) {
        free = -1;
      }
      var running = broker.getValue();
      boolean deleted = running.temporary() && deleteQuietly(dir);
      var said =
          haltLine(dir, running.temporary(), deleted, status, message, free, running.afterHalt());
      System.err.println(said.line());
      if (said.fullDisk()) exit = FULL_DISK_STATUS;
    }
    System.err.flush();
    Runtime.getRuntime().halt(exit);
  }

  /** The line a halt prints for one broker, and whether its disk is full. */
  record HaltLine(String line, boolean fullDisk) {}

  /**
   * What a halt says of the broker in {@code dir}: Kafka's status and message, whether its disk is
   * full ({@code free} bytes usable; -1 unknown), whether its directory was temporary and then
   * deleted, and what its process leaves ({@code afterHalt}, null: nothing to add).
   */
  static HaltLine haltLine(
      Path dir,
      boolean temporary,
      boolean deleted,
      int status,
      String message,
      long free,
      String afterHalt) {
    boolean full = free >= 0 && free < FULL_DISK_BYTES;
    var line = new StringBuilder("kafka broker: halting this process (Kafka's status " + status);
    if (message != null && !message.isBlank()) line.append(", ").append(message.strip());
    line.append(')');
    if (full) {
      line.append(": its data directory ")
          .append(dir)
          .append(" is on a full disk (")
          .append(free)
          .append(" bytes free)");
    } else {
      line.append("; its log above says why");
    }
    if (deleted) {
      line.append("; its temporary data directory is deleted");
    } else if (!temporary) {
      line.append("; its data directory stays for a broker started on it again");
    }
    if (afterHalt != null) line.append("; ").append(afterHalt);
    return new HaltLine(line.toString(), full);
  }

  /**
   * The exit hook's close: this process's own Kafka clients, dying with it, would otherwise warn
   * dozens of times that the broker went away; that is no news to whoever stopped the process.
   */
  private void closeAsTheJvmExits() {
    if (LoggerFactory.getLogger("org.apache.kafka")
        instanceof ch.qos.logback.classic.Logger kafka) {
      kafka.setLevel(ch.qos.logback.classic.Level.ERROR);
    }
    close();
  }

  private static void shutdown(KafkaRaftServer server) {
    server.shutdown();
    server.awaitShutdown();
  }

  /** Deletes a temporary data directory; whether it is gone. */
  private static boolean deleteQuietly(Path dir) {
    try {
      Utils.delete(dir.toFile());
      return true;
    } catch (IOException e) {
      log.warn("could not delete the broker's temporary directory {}: {}", dir, e.toString());
      return false;
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
