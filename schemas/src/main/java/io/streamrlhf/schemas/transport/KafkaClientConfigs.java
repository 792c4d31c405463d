package io.streamrlhf.schemas.transport;

import io.streamrlhf.schemas.Topics;
import java.util.Collections;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Producer, consumer and admin configs every process of the loop uses. Clients move raw bytes;
 * records are encoded with {@link io.streamrlhf.schemas.AvroCodec} (or {@link AvroSerializer}) and
 * decoded through {@link DecodingConsumer}, so a bad record becomes a dead letter instead of an
 * exception inside {@code poll}.
 *
 * <p>Each config comes in two forms: from a {@link KafkaAccess}, which adds the cluster's client
 * settings (SASL, SSL) that apply to that kind of client, and from a bare address, a plaintext
 * cluster (tests, the embedded broker). The settings never replace one of ours: {@link
 * KafkaClientSettings} refuses every key these builders set ({@link #ownedKeys}).
 *
 * <p>Lives in {@code schemas}, not {@code infra}, because actors and learner need it and nothing of
 * ours may depend on infra (DESIGN.md, "Modules").
 */
public final class KafkaClientConfigs {
  /** Batches up to this many bytes per partition: four weight chunks, or thousands of rollouts. */
  static final int BATCH_BYTES = Topics.MAX_RECORD_BYTES;

  /**
   * A produce request carries at most one batch per partition, each under the record limit (the
   * topics' max.message.bytes caps a batch, not a request): room for a batch of every weight
   * partition and some more, well under the broker's socket.request.max.bytes (100 MiB).
   */
  static final int REQUEST_BYTES = 8 * Topics.MAX_RECORD_BYTES;

  /**
   * The {@code transactional.id} of every learner: one for the cluster, so a learner that starts
   * fences the one before it ({@code learner.stream.TransactionalProducer}), and the one ACLs let
   * only the learner role use ({@code infra.kafka.LoopRole}).
   */
  public static final String LEARNER_TRANSACTIONAL_ID = "rlhf-learner";

  /** The same for every reward trainer. */
  public static final String REWARD_TRAINER_TRANSACTIONAL_ID = "rlhf-reward-trainer";

  private KafkaClientConfigs() {}

  /** {@link #producer(String, String)} with the cluster's client settings. */
  public static Map<String, Object> producer(KafkaAccess kafka, String clientId) {
    return withClientSettings(
        producer(kafka.bootstrapServers(), clientId), kafka, ProducerConfig.configNames());
  }

  /** {@link #groupConsumer(String, String, String)} with the cluster's client settings. */
  public static Map<String, Object> groupConsumer(
      KafkaAccess kafka, String groupId, String clientId) {
    return withClientSettings(
        groupConsumer(kafka.bootstrapServers(), groupId, clientId),
        kafka,
        ConsumerConfig.configNames());
  }

  /** {@link #weightsConsumer(String, String)} with the cluster's client settings. */
  public static Map<String, Object> weightsConsumer(KafkaAccess kafka, String clientId) {
    return withClientSettings(
        weightsConsumer(kafka.bootstrapServers(), clientId), kafka, ConsumerConfig.configNames());
  }

  /** An admin client (topic provisioning, readiness checks) with the cluster's client settings. */
  public static Map<String, Object> admin(KafkaAccess kafka, String clientId) {
    return withClientSettings(
        admin(kafka.bootstrapServers(), clientId), kafka, AdminClientConfig.configNames());
  }

  /** An admin client of a plaintext cluster. */
  public static Map<String, Object> admin(String bootstrapServers, String clientId) {
    var c = new HashMap<String, Object>();
    c.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    c.put(AdminClientConfig.CLIENT_ID_CONFIG, clientId);
    return c;
  }

  /** Adds the settings this kind of client knows (a consumer gets no producer-only key). */
  private static Map<String, Object> withClientSettings(
      Map<String, Object> ours, KafkaAccess kafka, Set<String> known) {
    kafka
        .clientSettings()
        .forEach(
            (k, v) -> {
              if (known.contains(k))
                ours.putIfAbsent(k, v); // never ours: KafkaClientSettings refused them
            });
    return ours;
  }

  /**
   * Every key these builders set: what a user's client settings may not override ({@link
   * KafkaClientSettings}). Computed from the builders, so a setting added to one is protected too.
   */
  static Set<String> ownedKeys() {
    return Owned.KEYS;
  }

  private static final class Owned {
    static final Set<String> KEYS = keys();

    private static Set<String> keys() {
      var keys = new TreeSet<String>();
      keys.addAll(producer("owned", "owned").keySet());
      keys.addAll(groupConsumer("owned", "owned", "owned").keySet());
      keys.addAll(weightsConsumer("owned", "owned").keySet());
      keys.addAll(admin("owned", "owned").keySet());
      return Collections.unmodifiableSet(keys);
    }
  }

  /**
   * An idempotent producer ({@code enable.idempotence} explicit, {@code acks=all}): a retried send
   * is written once and in order, so a weight version's chunks never interleave or duplicate.
   * max.request.size lets one request carry a batch of each weight partition ({@link
   * #REQUEST_BYTES}); a record larger than the topics' limit is still refused, by the broker.
   */
  public static Map<String, Object> producer(String bootstrapServers, String clientId) {
    var c = new HashMap<String, Object>();
    c.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    c.put(ProducerConfig.CLIENT_ID_CONFIG, clientId);
    c.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    c.put(ProducerConfig.ACKS_CONFIG, "all");
    c.put(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, 5); // the most idempotence allows
    c.put(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, REQUEST_BYTES);
    // the OS's autotuned socket buffer, not Kafka's fixed 128 KiB: a request of several MiB then
    // leaves in a few writes instead of dozens of window-sized ones
    c.put(ProducerConfig.SEND_BUFFER_CONFIG, -1);
    c.put(ProducerConfig.BATCH_SIZE_CONFIG, BATCH_BYTES);
    c.put(ProducerConfig.LINGER_MS_CONFIG, 5);
    // A send that cannot reach the broker fails after this instead of blocking forever.
    c.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 30_000);
    c.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 60_000);
    c.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
    c.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
    return c;
  }

  /**
   * How long a member that stopped heartbeating (an actor killed with SIGKILL, a lost machine)
   * keeps its partitions: the smallest session a stock broker accepts ({@code
   * group.min.session.timeout.ms}, 6 s), not Kafka's default 45 s, during which that member's
   * prompts would wait. Measured (DESIGN.md, "The house as it is"): a killed actor's partitions
   * reach a survivor 6 to 7.5 s after the kill with the classic protocol and these settings; Kafka
   * 4's consumer protocol at the same session and heartbeat is no faster (6.4 to 7.3 s) and keeps
   * its timeouts on the broker only (45 s at least unless the operator lowers them), so the classic
   * protocol stays.
   */
  static final int SESSION_TIMEOUT_MS = 6_000;

  /** A quarter of the session, so one or two lost heartbeats do not end it. */
  static final int HEARTBEAT_INTERVAL_MS = 1_500;

  /**
   * A consumer in a group (actors on prompts, learner on rollouts). Offsets are committed by the
   * caller (the learner keeps them in its checkpoint), never automatically; a new group starts at
   * the earliest record so nothing produced before it joined is skipped. read_committed ignores
   * records of aborted transactions. A dead member's partitions move after {@link
   * #SESSION_TIMEOUT_MS}.
   */
  public static Map<String, Object> groupConsumer(
      String bootstrapServers, String groupId, String clientId) {
    var c = baseConsumer(bootstrapServers, clientId);
    c.put(ConsumerConfig.GROUP_ID_CONFIG, groupId);
    c.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, SESSION_TIMEOUT_MS);
    c.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, HEARTBEAT_INTERVAL_MS);
    return c;
  }

  /**
   * A consumer without a group, for weight topics: every actor reads every chunk (assign, not
   * subscribe) starting from the beginning, so a late joiner finds the newest whole version. A
   * fetch brings up to two batches of every partition.
   */
  public static Map<String, Object> weightsConsumer(String bootstrapServers, String clientId) {
    var c = baseConsumer(bootstrapServers, clientId);
    // At most two record batches per partition and fetch (baseConsumer's limit): the partitions of
    // a backlog are read in step, a version or two apart at most, which the assembler's three
    // partial versions absorb; one fetch still brings a batch of every partition.
    c.put(ConsumerConfig.FETCH_MAX_BYTES_CONFIG, 16 * Topics.MAX_RECORD_BYTES);
    c.put(ConsumerConfig.RECEIVE_BUFFER_CONFIG, -1); // autotuned, not Kafka's fixed 64 KiB
    c.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 64);
    return c;
  }

  private static Map<String, Object> baseConsumer(String bootstrapServers, String clientId) {
    var c = new HashMap<String, Object>();
    c.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
    c.put(ConsumerConfig.CLIENT_ID_CONFIG, clientId);
    c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    c.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
    c.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    // Must admit at least one whole record of the largest size the topics allow.
    c.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, 2 * Topics.MAX_RECORD_BYTES);
    c.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
    c.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
    return c;
  }
}
