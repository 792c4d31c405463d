package io.streamrlhf.actors.gateway;

import io.streamrlhf.actors.VerticleFailure;
import io.streamrlhf.schemas.AvroCodec;
import io.streamrlhf.schemas.Comparison;
import io.streamrlhf.schemas.LabelRequest;
import io.streamrlhf.schemas.RecordChecks;
import io.streamrlhf.schemas.TopicSpec;
import io.streamrlhf.schemas.Topics;
import io.streamrlhf.schemas.transport.ClusterWatch;
import io.streamrlhf.schemas.transport.Decoded;
import io.streamrlhf.schemas.transport.DecodingConsumer;
import io.streamrlhf.schemas.transport.KafkaAccess;
import io.streamrlhf.schemas.transport.KafkaClientConfigs;
import io.streamrlhf.schemas.transport.KafkaRefusal;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * Reads {@code rlhf.label-requests} and {@code rlhf.comparisons} from the beginning, without a
 * consumer group (every gateway sees every record), and hands each decoded record to its {@link
 * FeedbackGateway} by a local message. Replaying the comparisons on start is how a restarted
 * gateway knows who answered what and which idempotency keys are used; records that do not decode,
 * or break their record's contract ({@link RecordChecks}), go to the dead-letter topic ({@link
 * DecodingConsumer}). Once both are read to where they ended at its start, it says so ({@link
 * FeedRecords#CAUGHT_UP}): until then the gateway cannot tell an answered request from a waiting
 * one, and takes no ranking.
 *
 * <p>A worker verticle: its consumers are touched only by its own context; it polls in short rounds
 * and re-queues itself, so undeploying stops it between polls. A failed poll is retried, a second
 * later; a login or a permission the cluster refused, and anything that escapes the round (an
 * {@link Error}), ends it ({@link #ended}), and with it the gateway.
 */
final class FeedbackFeed extends VerticleBase {
  private static final Duration POLL = Duration.ofMillis(100);
  private static final Duration DEAD_LETTER_TIMEOUT = Duration.ofSeconds(30);
  private static final Duration QUIET_LOG = Duration.ofSeconds(60);

  /** The pause after a failed round before the next. */
  private static final Duration RETRY = Duration.ofSeconds(1);

  private static final Duration CLOSE = Duration.ofSeconds(5);
  private static final Duration OFFSETS = Duration.ofSeconds(1);

  /** How often the feed asks the broker for the topics' ends, to know it still answers. */
  private static final Duration PROBE = Duration.ofSeconds(2);

  /** Records per poll: a restart re-reads every ranking ever made before it takes one. */
  private static final int MAX_POLL_RECORDS = 1000;

  private final KafkaAccess kafka;
  private final String gatewayAddress;
  private final String clientId;
  private final Consumer<String> log;
  private final CompletableFuture<Void> ended = new CompletableFuture<>();
  private final List<KafkaConsumer<byte[], byte[]>> consumers = new ArrayList<>();
  private KafkaProducer<byte[], byte[]> deadLetters;
  private DecodingConsumer<LabelRequest> requests;
  private DecodingConsumer<Comparison> comparisons;
  private volatile boolean running;
  private long lastFailureLog;
  private String trouble;
  private long lastProbe;
  private Map<TopicPartition, Long> endsAtStart;

  /** Hears every metadata response of both consumers: a fresh cluster at the address ends it. */
  private final ClusterWatch cluster = new ClusterWatch();

  /** Per partition, the position the feed has read to (the last record's offset + 1, or more). */
  private final Map<TopicPartition, Long> reached = new HashMap<>();

  private boolean caughtUp;
  private long requestsRead;
  private long comparisonsRead;

  FeedbackFeed(KafkaAccess kafka, String gatewayAddress, String clientId, Consumer<String> log) {
    this.kafka = kafka;
    this.gatewayAddress = gatewayAddress;
    this.clientId = clientId;
    this.log = log;
  }

  /** Completes when the feed stops: normally on undeploy, exceptionally when it failed. */
  CompletableFuture<Void> ended() {
    return ended;
  }

  @Override
  public Future<?> start() {
    context.exceptionHandler(this::fail);
    FeedRecords.registerCodecs(vertx);
    deadLetters = new KafkaProducer<>(KafkaClientConfigs.producer(kafka, clientId + "-dlq"));
    requests =
        new DecodingConsumer<>(
            fromTheBeginning(Topics.LABEL_REQUESTS),
            AvroCodec.of(LabelRequest.class),
            RecordChecks.LABEL_REQUEST,
            deadLetters,
            clientId,
            DEAD_LETTER_TIMEOUT);
    comparisons =
        new DecodingConsumer<>(
            fromTheBeginning(Topics.COMPARISONS),
            AvroCodec.of(Comparison.class),
            RecordChecks.COMPARISON,
            deadLetters,
            clientId,
            DEAD_LETTER_TIMEOUT);
    running = true;
    lastProbe = System.nanoTime();
    context.runOnContext(v -> round());
    return Future.succeededFuture();
  }

  /**
   * A consumer assigned every partition of the topic (counts from {@link Topics}, so no metadata
   * round trip is needed before the broker answers), starting at the earliest record.
   */
  private KafkaConsumer<byte[], byte[]> fromTheBeginning(String topic) {
    // the weight topics' groupless, from-the-beginning reader suits these topics too
    var config = KafkaClientConfigs.weightsConsumer(kafka, clientId + "-" + topic);
    config.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, MAX_POLL_RECORDS);
    var consumer = new KafkaConsumer<>(config, cluster, new ByteArrayDeserializer());
    int partitions = Topics.byName(topic).map(TopicSpec::partitions).orElseThrow();
    var assigned = new ArrayList<TopicPartition>();
    for (int p = 0; p < partitions; p++) assigned.add(new TopicPartition(topic, p));
    consumer.assign(assigned);
    consumer.seekToBeginning(assigned);
    consumers.add(consumer);
    return consumer;
  }

  private void round() {
    if (!running) return;
    boolean failed = false;
    try {
      requireTheSameCluster();
      var bus = vertx.eventBus();
      // requests first: a comparison is more useful once its request is known (either order works)
      for (var r : requests.poll(POLL)) {
        advance(r);
        bus.send(gatewayAddress, r.value());
        requestsRead++;
      }
      for (var c : comparisons.poll(POLL)) {
        advance(c);
        bus.send(gatewayAddress, c.value());
        comparisonsRead++;
      }
      if (!caughtUp && readToTheEndsAtStart()) {
        caughtUp = true;
        // the broker answered: what kept the reader from it is over before the gateway is ready,
        // so no status says ready beside a failure already mended
        readingAgain();
        bus.send(gatewayAddress, FeedRecords.CAUGHT_UP);
        log.accept(
            String.format(
                "gateway: read the feedback topics to their end (%d label requests, %d"
                    + " comparisons): taking rankings",
                requestsRead, comparisonsRead));
      }
      // a poll without a broker returns nothing rather than failing: ask it, now and then
      long now = System.nanoTime();
      if (trouble != null || now - lastProbe > PROBE.toNanos()) {
        lastProbe = now;
        for (var c : consumers) {
          var ends = c.endOffsets(c.assignment(), OFFSETS);
          for (var end : ends.entrySet())
            requireTheSameLog(end.getKey(), end.getValue(), c.position(end.getKey(), OFFSETS));
        }
        readingAgain();
      }
    } catch (RuntimeException e) {
      if (KafkaRefusal.in(e) != null || e instanceof LogReplaced) {
        // a login refused, or a topic this user may not read or dead-letter to: no retry mends it;
        // the gateway ends, saying why (an operator who grants the rights restarts it); nor does
        // one, to topics that started over, make what the gateway knows true again
        fail(e);
        return;
      }
      failed = true;
      var reason = e.getMessage() != null ? e.getMessage() : e.toString();
      if (!reason.equals(trouble)) {
        trouble = reason;
        vertx.eventBus().send(gatewayAddress, new FeedRecords.ReaderTrouble(reason));
      }
      long now = System.nanoTime();
      if (now - lastFailureLog > QUIET_LOG.toNanos()) {
        lastFailureLog = now;
        log.accept(GatewayNode.READ_FAILED + reason);
      }
    }
    // a failure that repeats at once (a user not allowed to read) would flood the client's log
    if (failed) vertx.setTimer(RETRY.toMillis(), id -> context.runOnContext(v -> round()));
    else context.runOnContext(v -> round());
  }

  /** Says a failure to read, if one was said, is over. */
  private void readingAgain() {
    if (trouble == null) return;
    trouble = null;
    vertx.eventBus().send(gatewayAddress, new FeedRecords.ReaderTrouble(null));
    log.accept("gateway: reading the feedback topics again"); // the failure was logged
  }

  /**
   * A partition's log never ends before, nor moves its reader back from, a position the feed
   * reached: if it does, the broker was replaced by a fresh one at the same address (or the topic
   * made anew), and Kafka's consumer quietly starts over at its beginning. The requests offered and
   * rankings counted would then mix two clusters', so the gateway ends, for a restart to read the
   * new topics afresh.
   */
  private void requireTheSameLog(TopicPartition partition, long end, long position) {
    var before = reached.get(partition);
    if (before != null && (end < before || position < before))
      throw replaced(partition, "now ends at offset " + Math.min(end, position), before);
    reached.merge(partition, position, Math::max);
  }

  /**
   * Another cluster id behind the same address: a fresh broker, whose log may already have grown
   * past every offset the feed had read (so {@link #requireTheSameLog} would not see it).
   */
  private void requireTheSameCluster() {
    var change = cluster.changed();
    if (change.isPresent())
      throw new LogReplaced(
          String.format(
              "the broker at %s is another cluster now (id %s, was %s): the broker or its topics"
                  + " were replaced, so what the gateway knows is of the old ones; restart it to"
                  + " read the new ones afresh",
              kafka, change.get().now(), change.get().was()));
  }

  /** Records {@code read}; one at an offset read before means the log started over. */
  private void advance(Decoded.Value<?> read) {
    requireTheSameCluster(); // records of a fresh cluster are not of the log read so far
    var partition = new TopicPartition(read.topic(), read.partition());
    var before = reached.get(partition);
    if (before != null && read.offset() < before)
      throw replaced(partition, "holds offset " + read.offset() + " again", before);
    reached.put(partition, read.offset() + 1);
  }

  private LogReplaced replaced(TopicPartition partition, String what, long before) {
    return new LogReplaced(
        String.format(
            "%s partition %d on %s %s, behind offset %d the gateway had read: the broker or its"
                + " topics were replaced (or lost records), so what the gateway knows is of the old"
                + " ones; restart it to read the new ones afresh",
            partition.topic(), partition.partition(), kafka, what, before));
  }

  /** The feedback topics started over under the gateway ({@link #requireTheSameLog}). */
  private static final class LogReplaced extends IllegalStateException {
    LogReplaced(String message) {
      super(message);
    }
  }

  /**
   * Whether every partition was read to where it ended when the feed first reached the broker (a
   * broker that does not answer yet throws, and the next round asks again). A topic made with more
   * partitions than {@link Topics} gives it has them all read, from the beginning, first.
   */
  private boolean readToTheEndsAtStart() {
    if (endsAtStart == null) {
      var ends = new HashMap<TopicPartition, Long>();
      for (var c : consumers) {
        var topic = c.assignment().iterator().next().topic();
        var all = new ArrayList<TopicPartition>();
        for (var p : c.partitionsFor(topic, OFFSETS))
          all.add(new TopicPartition(p.topic(), p.partition()));
        if (all.isEmpty()) {
          // not cached: the next round asks again, once the topics are provisioned
          throw new IllegalStateException(
              topic
                  + " does not exist on "
                  + kafka
                  + ": provision the loop's topics (rlhf broker does)");
        }
        var added = new ArrayList<>(all);
        added.removeAll(c.assignment());
        if (!added.isEmpty()) {
          c.assign(all); // the partitions read so far keep their positions
          c.seekToBeginning(added);
        }
        ends.putAll(c.endOffsets(all, OFFSETS));
      }
      endsAtStart = ends;
    }
    for (var c : consumers)
      for (var partition : c.assignment())
        if (c.position(partition, OFFSETS) < endsAtStart.get(partition)) return false;
    return true;
  }

  /** Stops on its own, closing its clients, and fails {@link #ended} with a VerticleFailure. */
  private void fail(Throwable e) {
    if (ended.isDone()) return;
    running = false;
    var failure = new VerticleFailure("gateway's topic reader", e);
    log.accept("gateway: stopping: " + failure.getMessage());
    closeClients();
    ended.completeExceptionally(failure);
  }

  @Override
  public Future<?> stop() {
    running = false;
    closeClients();
    ended.complete(null);
    return Future.succeededFuture();
  }

  private void closeClients() {
    for (var c : consumers) {
      try {
        c.close(CLOSE);
      } catch (RuntimeException e) {
        log.accept("gateway: closing a topic reader failed: " + e);
      }
    }
    consumers.clear();
    try {
      if (deadLetters != null) deadLetters.close(CLOSE);
    } catch (RuntimeException e) {
      log.accept("gateway: closing the dead-letter producer failed: " + e);
    } finally {
      deadLetters = null;
    }
  }
}
