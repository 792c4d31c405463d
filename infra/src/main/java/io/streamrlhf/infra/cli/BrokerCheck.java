package io.streamrlhf.infra.cli;

import io.streamrlhf.schemas.transport.Durations;
import io.streamrlhf.schemas.transport.KafkaAccess;
import io.streamrlhf.schemas.transport.KafkaClientConfigs;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.DescribeClusterOptions;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.utils.Utils;

/**
 * Every command given {@code --bootstrap} asks the cluster to describe itself before its work
 * starts, and waits at most {@link #WAIT} for an answer: a wrong address, or a broker that is not
 * up, ends the command in one line that names the address (exit code 2), instead of a client
 * retrying for a minute and then a stack trace.
 *
 * <p>First a TCP connection to one of the addresses, retried until the wait is up (a broker that is
 * still starting answers within it), so an address nothing listens on costs no Kafka client's
 * warnings on stderr; then the Kafka client's own {@code describeCluster}, so a port that answers
 * but is not Kafka (or refuses these credentials) is caught too.
 */
final class BrokerCheck {
  /** How long a command waits for the cluster to answer, in seconds (also in --help). */
  static final int WAIT_SECONDS = 15;

  static final Duration WAIT = Duration.ofSeconds(WAIT_SECONDS);

  /** Overrides {@link #WAIT} (ISO-8601, e.g. PT1M) for a cluster that takes longer to answer. */
  static final String WAIT_PROPERTY = "rlhf.kafka.wait";

  private static final Duration ROUND = Duration.ofMillis(250);
  private static final Duration MIN_KAFKA_WAIT = Duration.ofSeconds(3);
  private static final Duration CLOSE = Duration.ofSeconds(2);

  private BrokerCheck() {}

  /**
   * Returns once the cluster at {@code bootstrap} answered; else throws a {@link UserError}.
   *
   * @param clientConfigs further Kafka client settings the commands use (security, for one); the
   *     check connects as they do
   */
  static void require(String bootstrap, Map<String, Object> clientConfigs) {
    var wait = waitLimit();
    long deadline = System.nanoTime() + wait.toNanos();
    var addresses = addresses(bootstrap);
    String failure = null;
    boolean listening = false;
    while (!listening) {
      for (var address : addresses) {
        failure = connect(address, deadline);
        if (failure == null) {
          listening = true;
          break;
        }
      }
      if (!listening && !pause(deadline)) {
        throw unreachable(bootstrap, wait, failure);
      }
    }
    var configs = new HashMap<>(clientConfigs);
    configs.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
    configs.put(AdminClientConfig.CLIENT_ID_CONFIG, "rlhf-broker-check");
    int kafkaMs = (int) Math.max(MIN_KAFKA_WAIT.toMillis(), millisLeft(deadline));
    configs.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, kafkaMs);
    configs.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, kafkaMs);
    Admin admin = null;
    try {
      admin = Admin.create(configs);
      admin
          .describeCluster(new DescribeClusterOptions().timeoutMs(kafkaMs))
          .nodes()
          .get(kafkaMs, TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      throw notKafka(bootstrap, wait, e.getCause() == null ? e : e.getCause());
    } catch (TimeoutException | KafkaException e) {
      throw notKafka(bootstrap, wait, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new UserError("interrupted while connecting to Kafka at " + bootstrap);
    } finally {
      // Admin.close() without a bound waits for every pending call; against a port that is not
      // Kafka that wait was seen to last minutes under load. The check's answer is already known.
      if (admin != null) admin.close(CLOSE);
    }
  }

  static void require(String bootstrap) {
    require(bootstrap, Map.of());
  }

  /** The same for a cluster reached with {@code --kafka-config}'s client settings (SASL, SSL). */
  static void require(KafkaAccess kafka) {
    require(kafka.bootstrapServers(), KafkaClientConfigs.admin(kafka, "rlhf-broker-check"));
  }

  /** The host:port pairs of a bootstrap list, refused with the flag's name when malformed. */
  private static List<String[]> addresses(String bootstrap) {
    var out = new ArrayList<String[]>();
    for (var entry : bootstrap.split(",")) {
      var trimmed = entry.strip();
      if (trimmed.isEmpty()) continue;
      var host = Utils.getHost(trimmed);
      var port = Utils.getPort(trimmed);
      if (host == null || port == null || port < 1 || port > 65535) {
        throw new UserError(
            "--bootstrap "
                + bootstrap
                + ": '"
                + trimmed
                + "' is not HOST:PORT (e.g. 127.0.0.1:9092)");
      }
      out.add(new String[] {host, Integer.toString(port)});
    }
    if (out.isEmpty())
      throw new UserError("--bootstrap is empty: give HOST:PORT (e.g. 127.0.0.1:9092)");
    return out;
  }

  /** Null once a TCP connection to the address succeeded; else what went wrong, for the user. */
  private static String connect(String[] hostPort, long deadline) {
    var address = new InetSocketAddress(hostPort[0], Integer.parseInt(hostPort[1]));
    if (address.isUnresolved()) return "unknown host " + hostPort[0];
    int timeout = (int) Math.max(1, Math.min(2_000, millisLeft(deadline)));
    try (var socket = new Socket()) {
      socket.connect(address, timeout);
      return null;
    } catch (IOException e) {
      var message = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
      return message.toLowerCase(java.util.Locale.ROOT);
    }
  }

  /** Sleeps one round (a retry backoff); false when the deadline leaves no time for another. */
  private static boolean pause(long deadline) {
    if (millisLeft(deadline) <= ROUND.toMillis()) return false;
    try {
      Thread.sleep(ROUND.toMillis());
      return true;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  private static long millisLeft(long deadline) {
    return TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
  }

  private static UserError unreachable(String bootstrap, Duration wait, String failure) {
    return new UserError(
        "cannot reach Kafka at "
            + bootstrap
            + " within "
            + Durations.readable(wait)
            + " ("
            + failure
            + "): is --bootstrap right and the broker up?");
  }

  private static UserError notKafka(String bootstrap, Duration wait, Throwable cause) {
    var message =
        cause.getMessage() == null ? cause.getClass().getSimpleName() : cause.getMessage();
    return new UserError(
        bootstrap
            + " accepts connections but no Kafka broker there answered within "
            + Durations.readable(wait)
            + " ("
            + message.lines().findFirst().orElse("")
            + "): is --bootstrap a Kafka listener, and are the client settings (--kafka-config)"
            + " right?");
  }

  private static Duration waitLimit() {
    var given = System.getProperty(WAIT_PROPERTY);
    if (given == null) return WAIT;
    try {
      var wait = Duration.parse(given);
      if (wait.isNegative() || wait.isZero()) throw new DateTimeParseException("<= 0", given, 0);
      return wait;
    } catch (DateTimeParseException e) {
      throw new UserError(
          "-D" + WAIT_PROPERTY + "=" + given + ": not a positive ISO-8601 duration");
    }
  }
}
