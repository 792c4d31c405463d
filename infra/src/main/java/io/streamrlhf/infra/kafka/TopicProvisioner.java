package io.streamrlhf.infra.kafka;

import io.streamrlhf.schemas.TopicSpec;
import io.streamrlhf.schemas.Topics;
import io.streamrlhf.schemas.transport.Durations;
import io.streamrlhf.schemas.transport.KafkaAccess;
import io.streamrlhf.schemas.transport.KafkaClientConfigs;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.CreateTopicsOptions;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.errors.TopicExistsException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Creates the loop's topics ({@link Topics#provisioned}: those something reads or writes) with
 * their partition counts and configs, and returns once their leaders serve them (those it made and
 * those it found). Idempotent: topics that exist are left as they are, so every process may
 * provision at start.
 */
public final class TopicProvisioner {
  private static final Logger log = LoggerFactory.getLogger(TopicProvisioner.class);

  private TopicProvisioner() {}

  /**
   * Creates every missing topic of the loop through a short-lived AdminClient.
   *
   * @return the names of the topics this call created (empty when all existed)
   */
  public static List<String> provision(String bootstrapServers, Duration timeout) {
    return provision(KafkaAccess.plaintext(bootstrapServers), timeout);
  }

  /** {@link #provision(String, Duration)} on a cluster that may need credentials. */
  public static List<String> provision(KafkaAccess kafka, Duration timeout) {
    return provision(kafka, timeout, Topics.PROMPT_PARTITIONS);
  }

  /**
   * {@link #provision(KafkaAccess, Duration)} with {@code rlhf.prompts}, if this call creates it,
   * on {@code promptPartitions} partitions. A topic that exists keeps its partitions ({@link
   * #partitions} tells how many).
   */
  public static List<String> provision(KafkaAccess kafka, Duration timeout, int promptPartitions) {
    return provision(kafka, timeout, Topics.provisioned(promptPartitions));
  }

  /**
   * The loop's topics but {@code rlhf.prompts}, for the roles that never read or write prompts
   * (reward trainer, labelers, gateway): started first on a fresh cluster, they leave it for the
   * learner or an actor to create with the run's prompt_partitions.
   */
  public static List<String> provisionAllButPrompts(KafkaAccess kafka, Duration timeout) {
    return provision(
        kafka,
        timeout,
        Topics.provisioned().stream().filter(t -> !t.name().equals(Topics.PROMPTS)).toList());
  }

  private static List<String> provision(
      KafkaAccess kafka, Duration timeout, List<TopicSpec> topics) {
    var admin = Admin.create(KafkaClientConfigs.admin(kafka, "rlhf-topic-provisioner"));
    try {
      return provision(admin, topics, timeout);
    } catch (IllegalStateException e) {
      // a broker that requires logins drops a client without them: to it, a silent broker
      if (kafka.clientSettings().isEmpty() && timedOut(e.getCause()))
        throw new IllegalStateException(
            e.getMessage() + "; if the cluster requires a login, pass --kafka-config",
            e.getCause());
      throw e;
    } finally {
      // a failed call may still be pending (for default.api.timeout.ms, a minute): abandon it
      admin.close(Duration.ofSeconds(1));
    }
  }

  /**
   * Creates the given topics where missing. The replication factor is min(3, brokers in the
   * cluster): one on the embedded broker, three on a production cluster.
   */
  public static List<String> provision(Admin admin, List<TopicSpec> topics, Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    try {
      int brokers =
          admin.describeCluster().nodes().get(timeout.toMillis(), TimeUnit.MILLISECONDS).size();
      short replicas = (short) Math.max(1, Math.min(3, brokers));
      var existing = admin.listTopics().names().get(left(deadline), TimeUnit.MILLISECONDS);
      var missing = new ArrayList<NewTopic>();
      for (var t : topics) {
        if (!existing.contains(t.name())) {
          missing.add(new NewTopic(t.name(), t.partitions(), replicas).configs(t.configs()));
        }
      }
      if (missing.isEmpty()) {
        awaitServed(admin, topics, deadline); // another process may have made them a moment ago
        return List.of();
      }
      var created = new ArrayList<String>();
      var result =
          admin.createTopics(missing, new CreateTopicsOptions().timeoutMs((int) left(deadline)));
      for (var entry : result.values().entrySet()) {
        try {
          entry.getValue().get(left(deadline), TimeUnit.MILLISECONDS);
          created.add(entry.getKey());
        } catch (ExecutionException e) {
          if (!(e.getCause() instanceof TopicExistsException)) { // another process was first: fine
            throw e;
          }
        }
      }
      awaitServed(admin, topics, deadline);
      log.info("created topics {} (replication factor {})", created, replicas);
      return created;
    } catch (ExecutionException | TimeoutException e) {
      throw new IllegalStateException(
          "could not provision the loop's topics within "
              + Durations.readable(timeout)
              + ": "
              + (e.getCause() == null ? e : e.getCause()),
          e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while provisioning topics", e);
    }
  }

  /**
   * Waits until the leader of every partition of {@code topics} serves it. A produce that reaches
   * the broker before it has applied a topic's creation fails retriably; an idempotent producer's
   * next request to that partition may then be appended first, and the failed one is refused as out
   * of order on every retry until it expires, its records lost (KAFKA-15591, fixed in Kafka 4.5).
   * ListOffsets goes to each partition's leader and succeeds once the leader has the partition; on
   * a partition long served it is one round trip. A partition this client may not describe (a
   * secured cluster's other roles' topics) is not waited for: it cannot write there either.
   */
  private static void awaitServed(Admin admin, List<TopicSpec> topics, long deadline)
      throws ExecutionException, InterruptedException, TimeoutException {
    var served = new HashSet<TopicPartition>();
    while (true) {
      // a topic found, or made a moment ago by another process, may have more or fewer
      // partitions than our spec: wait for the ones it has
      var counts = partitionCounts(admin, topics, deadline);
      var pending = new HashMap<TopicPartition, OffsetSpec>();
      for (var t : topics) {
        for (int p = 0; p < counts.getOrDefault(t.name(), t.partitions()); p++) {
          var tp = new TopicPartition(t.name(), p);
          if (!served.contains(tp)) pending.put(tp, OffsetSpec.latest());
        }
      }
      if (pending.isEmpty()) return;
      var result =
          admin.listOffsets(pending, new ListOffsetsOptions().timeoutMs((int) left(deadline)));
      int notYet = 0;
      Throwable last = null;
      for (var partition : pending.keySet()) {
        try {
          result.partitionResult(partition).get(left(deadline), TimeUnit.MILLISECONDS);
          served.add(partition);
        } catch (ExecutionException e) {
          if (e.getCause() instanceof TopicAuthorizationException) {
            served.add(partition); // not ours to wait for
            continue;
          }
          // the leader lookup gives up on a topic the broker's metadata does not hold yet
          if (!(e.getCause() instanceof RetriableException)) throw e;
          notYet++;
          last = e.getCause();
        }
      }
      if (notYet == 0) return;
      if (System.nanoTime() > deadline) {
        throw new TimeoutException(notYet + " partition(s) not served yet: " + last);
      }
      Thread.sleep(20); // polling the broker with a deadline
    }
  }

  /**
   * The partitions each topic has, as far as the controller's metadata already says; a topic it
   * does not know yet, or this client may not describe, is left out (the caller assumes its spec).
   */
  private static Map<String, Integer> partitionCounts(
      Admin admin, List<TopicSpec> topics, long deadline)
      throws InterruptedException, TimeoutException {
    var described =
        admin.describeTopics(topics.stream().map(TopicSpec::name).toList()).topicNameValues();
    var counts = new HashMap<String, Integer>();
    for (var entry : described.entrySet()) {
      try {
        counts.put(
            entry.getKey(),
            entry.getValue().get(left(deadline), TimeUnit.MILLISECONDS).partitions().size());
      } catch (ExecutionException e) {
        // not known yet, or not ours to describe: the ListOffsets wait handles both
      }
    }
    return counts;
  }

  /**
   * How many partitions {@code topic} has on the cluster.
   *
   * @throws IllegalStateException when the cluster does not answer within {@code timeout}
   */
  public static int partitions(KafkaAccess kafka, String topic, Duration timeout) {
    try (var admin = Admin.create(KafkaClientConfigs.admin(kafka, "rlhf-topic-provisioner"))) {
      return admin
          .describeTopics(List.of(topic))
          .topicNameValues()
          .get(topic)
          .get(timeout.toMillis(), TimeUnit.MILLISECONDS)
          .partitions()
          .size();
    } catch (ExecutionException | TimeoutException e) {
      throw new IllegalStateException(
          "could not describe " + topic + " within " + Durations.readable(timeout) + ": " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while describing " + topic, e);
    }
  }

  /** Our wait ran out, or the admin client's own (Kafka's TimeoutException inside). */
  private static boolean timedOut(Throwable e) {
    return e instanceof TimeoutException
        || (e instanceof ExecutionException
            && e.getCause() instanceof org.apache.kafka.common.errors.TimeoutException);
  }

  private static long left(long deadline) throws TimeoutException {
    long ms = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
    if (ms <= 0) {
      throw new TimeoutException("deadline passed");
    }
    return ms;
  }
}
