package io.streamrlhf.actors;

import io.streamrlhf.schemas.AvroCodec;
import io.streamrlhf.schemas.Comparison;
import io.streamrlhf.schemas.LabelRequest;
import io.streamrlhf.schemas.RecordChecks;
import io.streamrlhf.schemas.Topics;
import io.streamrlhf.schemas.transport.Acks;
import io.streamrlhf.schemas.transport.DecodingConsumer;
import io.streamrlhf.schemas.transport.KafkaClientConfigs;
import io.streamrlhf.tasks.LabelerAgreement;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.ThreadingModel;
import io.vertx.core.VerticleBase;
import io.vertx.core.Vertx;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.CommitFailedException;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.RebalanceInProgressException;

/**
 * Simulated labelers as a stream (DESIGN.md, "The loop"): consumes {@code rlhf.label-requests} in
 * their own consumer group at a set rate, has TASKS.md's labelers rank each request ({@link
 * SimulatedLabelerPool}), and produces their {@link Comparison}s to {@code rlhf.comparisons}. So
 * the feedback stream exists without people, beside them.
 *
 * <p>Nothing is lost: offsets are committed only after the broker acknowledged the comparisons of
 * every request before them ({@code acks=all}); a labeler stopped in between answers those requests
 * again after a restart, with the same comparisons under the same idempotency keys, which the
 * reward trainer counts once.
 *
 * <p>Without a fixed β the labelers first calibrate it on the first requests, to TASKS.md's 73%
 * agreement (holding them unanswered meanwhile), and say what they measured.
 *
 * <p>A worker verticle like {@link RolloutActor}: one step (poll, answer what the rate allows,
 * produce, await acks, commit) at a time on its context.
 */
public final class SimulatedLabelers extends VerticleBase {
  /** How the labelers sign their log lines. */
  private static final String NAME = "labelers";

  private static final Duration POLL = Duration.ofMillis(100);
  private static final Duration PROGRESS_LOG = Duration.ofSeconds(10);
  private static final AvroCodec<Comparison> COMPARISONS = AvroCodec.of(Comparison.class);

  /** Requests held at most; beyond, the consumer pauses until some are answered. */
  private static final int MAX_HELD = 1_000;

  /** Calibration measures the agreement it reached over this many rankings of every set. */
  private static final int CALIBRATION_ROUNDS = 5;

  private final LabelerSettings settings;
  private final Consumer<String> log;
  private final CompletableFuture<Void> ended = new CompletableFuture<>();
  private final ArrayDeque<Held> held = new ArrayDeque<>();
  private final Map<TopicPartition, Long> nextAfterPolled = new HashMap<>();
  private KafkaConsumer<byte[], byte[]> consumer;
  private DecodingConsumer<LabelRequest> requests;
  private KafkaProducer<byte[], byte[]> producer;
  private SimulatedLabelerPool pool;
  private int heldAtLastCalibration;
  private boolean running;

  /** Set when they failed: clients closed, nothing more committed (see {@link Rebalance}). */
  private boolean failed;

  /**
   * Whether the clients are closing: a stop waits at most {@link #STOP} for the broker to take the
   * answered offsets and the records in flight, not the kafka timeout each wait of running labelers
   * allows (twice over, a broker that is gone kept the process 30 s and more). Requests not
   * committed by then are ranked again by another member: the same comparisons, ids and ranks, a
   * second time.
   */
  private boolean closing;

  private static final Duration STOP = Duration.ofSeconds(10);

  private boolean paused;
  private double tokens;
  private long refilledAt;
  private long answered;
  private long comparisons;
  private long skipped;
  private long lastProgress;
  private long answeredAtLastProgress = -1;
  private String deploymentId;

  /** A polled request and where it came from. */
  private record Held(LabelRequest request, TopicPartition partition, long offset) {}

  public SimulatedLabelers(LabelerSettings settings, Consumer<String> log) {
    this.settings = settings;
    this.log = log;
  }

  /** Deploys the labelers on {@code vertx} as a worker verticle and waits until they started. */
  public static SimulatedLabelers deploy(
      Vertx vertx, LabelerSettings settings, Consumer<String> log) {
    var labelers = new SimulatedLabelers(settings, log);
    labelers.deploymentId =
        ActorNode.await(
            vertx.deployVerticle(
                labelers, new DeploymentOptions().setThreadingModel(ThreadingModel.WORKER)),
            "simulated labelers");
    return labelers;
  }

  /** Undeploys what {@link #deploy} deployed (closing the Kafka clients). */
  public synchronized void undeploy() {
    if (deploymentId == null) return; // undeployed already
    var deployment = deploymentId;
    deploymentId = null;
    ActorNode.await(vertx.undeploy(deployment), "simulated labelers stop");
  }

  /** Completes when the labelers stop: normally on undeploy, exceptionally when they gave up. */
  public CompletableFuture<Void> ended() {
    return ended;
  }

  @Override
  public Future<?> start() {
    // whatever escapes one of their handlers, an Error included, ends them loudly
    context.exceptionHandler(this::fail);
    var clientId = settings.groupId() + "-" + ProcessHandle.current().pid();
    consumer =
        new KafkaConsumer<>(
            KafkaClientConfigs.groupConsumer(settings.kafka(), settings.groupId(), clientId));
    producer = new KafkaProducer<>(KafkaClientConfigs.producer(settings.kafka(), clientId));
    requests =
        new DecodingConsumer<>(
            consumer,
            AvroCodec.of(LabelRequest.class),
            RecordChecks.LABEL_REQUEST,
            producer,
            clientId,
            settings.kafkaTimeout());
    consumer.subscribe(List.of(Topics.LABEL_REQUESTS), new Rebalance());
    if (settings.beta() != null) {
      pool = pool(settings.beta());
    }
    tokens = capacity();
    refilledAt = System.nanoTime();
    lastProgress = refilledAt;
    running = true;
    log.accept(
        String.format(
            "%s: %d simulated labeler(s) ranking %s at up to %s request(s)/s into %s (group %s);"
                + " %s",
            NAME,
            settings.labelers(),
            Topics.LABEL_REQUESTS,
            decimal(settings.requestsPerSecond()),
            Topics.COMPARISONS,
            settings.groupId(),
            pool != null
                ? "noise beta " + decimal(settings.beta())
                : "calibrating their noise on the first "
                    + settings.calibrationRequests()
                    + " requests whose answers do not all score alike"));
    context.runOnContext(v -> step());
    return Future.succeededFuture();
  }

  private SimulatedLabelerPool pool(double beta) {
    // another group ranks every request again: as other people, whose rankings are not repeats
    var crew = LabelerSettings.DEFAULT_GROUP.equals(settings.groupId()) ? "" : settings.groupId();
    return new SimulatedLabelerPool(
        settings.labelers(), beta, settings.overlap(), settings.seed(), crew);
  }

  /** A second's worth of requests, at least one. */
  private double capacity() {
    return Math.max(1, settings.requestsPerSecond());
  }

  private void step() {
    if (!running) return;
    try {
      refill();
      boolean canAnswer = pool != null && !held.isEmpty() && tokens >= 1;
      for (var r : requests.poll(canAnswer ? Duration.ZERO : untilNextRequest())) {
        held.add(new Held(r.value(), new TopicPartition(r.topic(), r.partition()), r.offset()));
        nextAfterPolled.merge(
            new TopicPartition(r.topic(), r.partition()), r.offset() + 1, Math::max);
      }
      pauseWhenFull();
      if (pool == null) calibrate();
      refill();
      int n = pool == null ? 0 : (int) Math.min(held.size(), Math.floor(tokens));
      if (n > 0) {
        answer(n);
        tokens -= n;
      }
      progress();
    } catch (RuntimeException e) {
      fail(e);
      return;
    }
    context.runOnContext(v -> step());
  }

  /** Token bucket: the rate's worth of requests per elapsed second, up to {@link #capacity}. */
  private void refill() {
    long now = System.nanoTime();
    tokens = Math.min(capacity(), tokens + (now - refilledAt) / 1e9 * settings.requestsPerSecond());
    refilledAt = now;
  }

  /** How long a poll may wait: until the next request may be answered, at most {@link #POLL}. */
  private Duration untilNextRequest() {
    if (pool == null || held.isEmpty()) return POLL;
    long nanos = (long) ((1 - tokens) / settings.requestsPerSecond() * 1e9);
    return Duration.ofNanos(Math.max(1_000_000, Math.min(POLL.toNanos(), nanos)));
  }

  /** The most requests held unanswered; polling pauses there (a calibration waits on them). */
  private int holdLimit() {
    return Math.max(MAX_HELD, settings.calibrationRequests());
  }

  private void pauseWhenFull() {
    int limit = holdLimit();
    if (!paused && held.size() >= limit) {
      consumer.pause(consumer.assignment());
      paused = true;
    } else if (paused && held.size() < limit / 2) {
      consumer.resume(consumer.paused());
      paused = false;
    }
  }

  /**
   * β from the first requests (their distinct answers' oracle scores), to InstructGPT's agreement
   * or as near as their ties allow ({@link LabelerAgreement#calibrateWithinReach}).
   */
  private void calibrate() {
    boolean full = held.size() >= holdLimit();
    if (held.size() < settings.calibrationRequests() || held.size() == heldAtLastCalibration)
      return;
    heldAtLastCalibration = held.size();
    // the first calibrationRequests requests with answers that score differently, not all a poll
    // happened to bring: the same requests give the same beta however the broker batched them.
    // Requests whose answers all score alike count among the pairs but not towards the number, so
    // a run of them early on delays the calibration rather than stalling it
    var sets = new ArrayList<double[]>();
    int untied = 0;
    for (var h : held) {
      if (untied == settings.calibrationRequests()) break;
      try {
        var scores = SimulatedLabelerPool.distinctOracleScores(h.request());
        if (scores.length < 2) continue;
        sets.add(scores);
        if (Arrays.stream(scores).distinct().count() > 1) untied++;
      } catch (IllegalArgumentException notATaskPrompt) {
        // ranked (skipped) later, like any request the labelers cannot rank
      }
    }
    if (untied < settings.calibrationRequests()) {
      // polling pauses at the hold limit: calibrate on what is held rather than wait for ever
      if (!full) return;
      if (untied == 0) {
        log.accept(
            String.format(
                "%s: cannot calibrate: the answers of all %d requests held score alike; rank with"
                    + " --beta B instead",
                NAME, held.size()));
        return;
      }
      log.accept(
          String.format(
              "%s: %d requests held, the most they hold, and only %d of them with answers that"
                  + " score differently: calibrating on them",
              NAME, held.size(), untied));
    }
    var calibration =
        LabelerAgreement.calibrateWithinReach(
            sets, LabelerAgreement.DEFAULT_TARGET, settings.seed(), CALIBRATION_ROUNDS);
    pool = pool(calibration.beta());
    log.accept(
        String.format(
            "%s: noise beta %.4f calibrated on %d requests: two labelers agree on %.3f of %d pairs"
                + " (target %.3f%s)",
            NAME,
            calibration.beta(),
            sets.size(),
            calibration.measured().rate(),
            calibration.measured().pairs(),
            calibration.target(),
            calibration.target() < LabelerAgreement.DEFAULT_TARGET
                ? String.format(
                    ", as near %.2f as the ties among the answers allow",
                    LabelerAgreement.DEFAULT_TARGET)
                : ""));
  }

  /** Ranks the first {@code n} held requests, produces, awaits the acks, then commits. */
  private void answer(int n) {
    var now = Instant.now();
    var sends = new ArrayList<java.util.concurrent.Future<RecordMetadata>>();
    for (int i = 0; i < n; i++) {
      var h = held.removeFirst();
      List<Comparison> answers;
      try {
        answers = pool.answer(h.request(), now);
      } catch (IllegalArgumentException unrankable) {
        skipped++;
        if (skipped <= 10 || skipped % 100 == 0)
          log.accept(
              String.format(
                  "%s: skipping request %s (%d so far): %s",
                  NAME, h.request().getRequestId(), skipped, unrankable.getMessage()));
        continue;
      }
      for (var comparison : answers) {
        var key = comparison.getRequestId().getBytes(StandardCharsets.UTF_8);
        sends.add(
            producer.send(
                new ProducerRecord<>(Topics.COMPARISONS, key, COMPARISONS.encode(comparison))));
      }
      answered++;
      comparisons += answers.size();
    }
    producer.flush();
    Acks.await(
        sends,
        settings.kafkaTimeout(),
        "the simulated labelers' comparisons",
        (message, cause) ->
            new IllegalStateException(
                message + "; label-request offsets not committed, they will be ranked again",
                cause));
    try {
      consumer.commitSync(committable(), settings.kafkaTimeout());
    } catch (CommitFailedException | RebalanceInProgressException e) {
      // the group moved on without them (a session expired): the partitions' owner ranks those
      // requests again, under the same idempotency keys
      log.accept(NAME + ": ranked requests not committed, the group rebalanced meanwhile");
    }
  }

  /** Per partition, the lowest held offset, or one past the last polled record when none is. */
  private Map<TopicPartition, OffsetAndMetadata> committable() {
    var offsets = new HashMap<TopicPartition, OffsetAndMetadata>();
    for (var entry : nextAfterPolled.entrySet()) {
      long next = entry.getValue();
      for (var h : held) {
        if (h.partition().equals(entry.getKey())) next = Math.min(next, h.offset());
      }
      offsets.put(entry.getKey(), new OffsetAndMetadata(next));
    }
    return offsets;
  }

  private void progress() {
    long now = System.nanoTime();
    if (now - lastProgress < PROGRESS_LOG.toNanos() || answered == answeredAtLastProgress) return;
    lastProgress = now;
    answeredAtLastProgress = answered;
    log.accept(
        String.format(
            "%s: %d request(s) ranked into %d comparison(s)%s; %d waiting",
            NAME,
            answered,
            comparisons,
            skipped > 0 ? ", " + skipped + " skipped (not task prompts)" : "",
            held.size()));
  }

  /**
   * Ends the labelers on their own: they stop, close their clients at once (leaving the group from
   * the last committed offsets: requests taken but not acknowledged are ranked again by whoever
   * takes the partition) and fail {@link #ended} with a {@link VerticleFailure}.
   */
  private void fail(Throwable e) {
    if (failed) return;
    failed = true;
    running = false;
    var failure = new VerticleFailure(NAME, e);
    log.accept(NAME + ": stopping: " + failure.getMessage());
    closeClients();
    ended.completeExceptionally(failure);
  }

  @Override
  public Future<?> stop() {
    running = false;
    try {
      closeClients();
    } finally {
      ended.complete(null);
    }
    return Future.succeededFuture();
  }

  private void closeClients() {
    try {
      closing = true; // the rebalance listener's commit waits no longer than the stop
      if (consumer != null) consumer.close(STOP); // the rebalance listener runs
    } catch (RuntimeException e) {
      log.accept(
          NAME
              + ": closing the request consumer failed, its answered requests perhaps uncommitted"
              + " (another member ranks them again): "
              + e);
    } finally {
      consumer = null;
    }
    try {
      if (producer != null) producer.close(STOP);
    } catch (RuntimeException e) {
      log.accept(NAME + ": closing the producer failed: " + e);
    } finally {
      producer = null;
    }
  }

  private static String decimal(double value) {
    return value == Math.rint(value) ? Long.toString((long) value) : Double.toString(value);
  }

  /** Commits what is answered before partitions move to another member, and forgets the rest. */
  private final class Rebalance implements ConsumerRebalanceListener {
    @Override
    public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
      var offsets = committable();
      offsets.keySet().retainAll(partitions);
      // failed labelers commit nothing more: requests they took but did not answer are not held
      if (!failed && !offsets.isEmpty())
        consumer.commitSync(offsets, closing ? STOP : settings.kafkaTimeout());
      forget(partitions);
    }

    @Override
    public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
      if (paused) consumer.pause(partitions);
    }

    @Override
    public void onPartitionsLost(Collection<TopicPartition> partitions) {
      forget(partitions); // already owned by another member: committing would fail
    }

    private void forget(Collection<TopicPartition> partitions) {
      held.removeIf(h -> partitions.contains(h.partition()));
      partitions.forEach(nextAfterPolled::remove);
    }
  }
}
