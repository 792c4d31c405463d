package io.streamrlhf.actors;

import io.streamrlhf.model.ByteTokenizer;
import io.streamrlhf.model.Gpt;
import io.streamrlhf.model.GptConfig;
import io.streamrlhf.model.RewardFunction;
import io.streamrlhf.model.RolloutGenerator;
import io.streamrlhf.model.WeightSnapshot;
import io.streamrlhf.model.checkpoint.Checkpoint;
import io.streamrlhf.schemas.AvroCodec;
import io.streamrlhf.schemas.Prompt;
import io.streamrlhf.schemas.PublishedWeights;
import io.streamrlhf.schemas.Rollout;
import io.streamrlhf.schemas.RolloutRecords;
import io.streamrlhf.schemas.Topics;
import io.streamrlhf.schemas.transport.Acks;
import io.streamrlhf.schemas.transport.DecodingConsumer;
import io.streamrlhf.schemas.transport.KafkaClientConfigs;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;

/**
 * One rollout actor (DESIGN.md, "The loop"): consumes {@code rlhf.prompts} in the actors' consumer
 * group, samples K responses per prompt with its current policy (behaviour log-probs kept), scores
 * them under the frozen SFT reference and the reward model ({@link RolloutGenerator}), and produces
 * one {@link Rollout} per response to {@code rlhf.rollouts} with an idempotent producer.
 *
 * <p>Sampling is blocking compute, so this is a worker verticle: one step (swap weights if a new
 * version arrived, poll, sample what is eligible, produce, commit) runs at a time on its context,
 * interleaved with the weight messages its {@link WeightSubscriber} sends; the policy therefore
 * changes only between batches, never inside one, and no state is shared across verticles.
 *
 * <p>Flow control: a prompt carries {@code minPolicyVersion}; the actor samples it only with a
 * policy at least that new and otherwise keeps it queued and waits, saying so every {@link
 * #WAIT_LOG}, and fails after {@link ActorSettings#versionWait}. Prompt offsets are committed only
 * after the prompt's rollouts are acknowledged ({@link PromptQueue}).
 */
public final class RolloutActor extends VerticleBase {
  /**
   * How the actor obtains its frozen models (loaded on its own worker thread at start): the SFT
   * reference and, given that reference, the reward (a reward model, whose likelihood term reads
   * the reference, or the oracle for gold-reward PPO).
   */
  public record Models(Supplier<Gpt> reference, Function<Gpt, RewardFunction> reward) {
    /**
     * The SFT reference from the checkpoint in {@code sftDir}, each actor loading its own copy, and
     * the reward {@code reward} builds on it: a reward-model checkpoint ({@link
     * Checkpoint#loadRewardModel}) or the oracle, as the caller's config chose.
     */
    public static Models load(Path sftDir, Function<Gpt, RewardFunction> reward) {
      return new Models(
          () -> {
            try {
              return Checkpoint.loadModel(sftDir);
            } catch (IOException e) {
              throw new UncheckedIOException("cannot load the model in " + sftDir, e);
            }
          },
          reward);
    }
  }

  /**
   * How long an idle actor waits in one poll for prompts. Short, because a new policy version (an
   * event-bus message from the subscriber) is handled only between steps: a long idle poll would
   * add its length to publish-to-apply. Kafka's poll returns as soon as records arrive either way.
   */
  private static final Duration POLL = Duration.ofMillis(10);

  private static final Duration WAIT_LOG = Duration.ofSeconds(10);
  private static final AvroCodec<Rollout> ROLLOUTS = AvroCodec.of(Rollout.class);

  private final ActorSettings settings;
  private final Models models;
  private final Consumer<String> log;
  private final CompletableFuture<Void> ended = new CompletableFuture<>();
  private final PromptQueue queue = new PromptQueue();
  private KafkaConsumer<byte[], byte[]> consumer;
  private DecodingConsumer<Prompt> prompts;
  private KafkaProducer<byte[], byte[]> producer;
  private Gpt reference;
  private RewardFunction reward;
  private Gpt policy;
  private RolloutGenerator generator;
  private long version = -1;
  private PublishedWeights pending;
  private boolean running;
  private long waitingSince;
  private long lastWaitLog;

  public RolloutActor(ActorSettings settings, Models models, Consumer<String> log) {
    this.settings = settings;
    this.models = models;
    this.log = log;
  }

  /** Completes when the actor stops: normally on undeploy, exceptionally when it gave up. */
  public CompletableFuture<Void> ended() {
    return ended;
  }

  @Override
  public Future<?> start() {
    ActorEvents.registerCodecs(vertx);
    Gpt.inferenceOnlyThread();
    reference = models.reference().get();
    reward = models.reward().apply(reference);
    var id = settings.actorId();
    consumer =
        new KafkaConsumer<>(
            KafkaClientConfigs.groupConsumer(settings.bootstrapServers(), settings.groupId(), id));
    producer = new KafkaProducer<>(KafkaClientConfigs.producer(settings.bootstrapServers(), id));
    prompts =
        new DecodingConsumer<>(
            consumer, AvroCodec.of(Prompt.class), producer, id, settings.kafkaTimeout());
    consumer.subscribe(List.of(Topics.PROMPTS), new Rebalance());
    vertx
        .eventBus()
        .<PublishedWeights>localConsumer(
            ActorEvents.weights(id),
            message -> {
              // keep only the newest: an older pending version would be swapped out before use
              // anyway
              if (pending == null || message.body().version() > pending.version())
                pending = message.body();
            });
    running = true;
    log.accept(
        id
            + ": rollout actor started (group "
            + settings.groupId()
            + ", K="
            + settings.responsesPerPrompt()
            + "); waiting for the first policy version on "
            + Topics.POLICY_WEIGHTS);
    context.runOnContext(v -> step());
    return Future.succeededFuture();
  }

  private void step() {
    if (!running) return;
    try {
      Gpt.inferenceOnlyThread(); // worker-pool threads vary; grad mode is per thread
      applyPendingWeights();
      // With samplable prompts already queued, only collect what has arrived: waiting in poll would
      // idle the actor between batches (it cost one whole POLL per batch).
      for (var p : prompts.poll(queue.hasEligible(version) ? Duration.ZERO : POLL)) {
        queue.add(p.value(), new TopicPartition(p.topic(), p.partition()), p.offset());
      }
      var batch =
          version < 0
              ? List.<PromptQueue.Queued>of()
              : queue.takeEligible(version, settings.maxPromptsPerBatch());
      if (!batch.isEmpty()) {
        waitingSince = 0;
        sampleAndProduce(batch);
        consumer.commitSync(queue.committable(), settings.kafkaTimeout());
      } else if (!queue.isEmpty()) {
        waitForVersion();
      } else {
        waitingSince = 0;
      }
    } catch (RuntimeException e) {
      fail(e);
      return;
    }
    context.runOnContext(v -> step());
  }

  /** Swaps to the newest whole version received, between batches. */
  private void applyPendingWeights() {
    if (pending == null) return;
    var snapshot = pending;
    pending = null;
    if (snapshot.version() <= version) return;
    long loading = System.nanoTime();
    // the subscriber's assembler verified the SHA-256 of exactly these bytes before handing them
    // over
    var weights = WeightSnapshot.decodeTransportVerified(snapshot.bytes());
    if (policy == null) {
      var config = GptConfig.fromJson(snapshot.meta().get(PublishedWeights.META_MODEL_CONFIG));
      policy = Gpt.create(config, 0);
      generator =
          new RolloutGenerator(
              policy, reference, reward, settings.maxNewTokens(), settings.temperature());
    }
    policy.load(weights);
    double loadMs = (System.nanoTime() - loading) / 1e6;
    version = snapshot.version();
    long ms = Math.max(0, Instant.now().toEpochMilli() - snapshot.publishedAt().toEpochMilli());
    log.accept(
        String.format(
            "%s: policy v%d applied (%d ms after it was published)",
            settings.actorId(), version, ms));
    vertx
        .eventBus()
        .publish(ActorEvents.APPLIED, ActorEvents.applied(settings.actorId(), version, ms, loadMs));
  }

  private void waitForVersion() {
    long now = System.nanoTime();
    if (waitingSince == 0) {
      waitingSince = now;
      lastWaitLog = now;
      return;
    }
    long waited = now - waitingSince;
    if (waited > settings.versionWait().toNanos()) {
      throw new IllegalStateException(
          String.format(
              "%s: gave up after %d s waiting for policy v%d (holding %s) for "
                  + "%d queued prompt(s); is the learner running and publishing to %s?",
              settings.actorId(),
              settings.versionWait().toSeconds(),
              queue.lowestMinVersion(),
              version < 0 ? "none" : "v" + version,
              queue.size(),
              Topics.POLICY_WEIGHTS));
    }
    if (now - lastWaitLog > WAIT_LOG.toNanos()) {
      lastWaitLog = now;
      log.accept(
          String.format(
              "%s: %d prompt(s) need policy v%d, holding %s; waiting (%d s of %d s)",
              settings.actorId(),
              queue.size(),
              queue.lowestMinVersion(),
              version < 0 ? "none" : "v" + version,
              waited / 1_000_000_000L,
              settings.versionWait().toSeconds()));
    }
  }

  private void sampleAndProduce(List<PromptQueue.Queued> batch) {
    var started = Instant.now();
    var seeded = new ArrayList<RolloutGenerator.SeededPrompt>(batch.size());
    for (var q : batch) {
      seeded.add(
          new RolloutGenerator.SeededPrompt(
              ByteTokenizer.encode(q.prompt().getText()), q.prompt().getSamplingSeed()));
    }
    var samples = generator.sample(seeded, settings.responsesPerPrompt());
    var acks = new ArrayList<java.util.concurrent.Future<RecordMetadata>>(samples.size());
    for (var s : samples) {
      var prompt = batch.get(s.promptIndex()).prompt();
      var rollout =
          Rollout.newBuilder()
              .setRolloutId(prompt.getPromptId() + "#" + s.sampleIndex())
              .setPromptId(prompt.getPromptId())
              .setPromptTokens(RolloutRecords.intList(s.prompt()))
              .setResponseTokens(RolloutRecords.intList(s.response()))
              .setBehaviourLogProbs(RolloutRecords.floatList(s.behaviourLogProbs()))
              .setRefLogProbs(RolloutRecords.floatList(s.refLogProbs()))
              .setRmScore((float) s.rmScore())
              .setPolicyVersion(version)
              .setActorId(settings.actorId())
              .setTerminated(s.terminated())
              .setSampleIndex(s.sampleIndex())
              .setStartedAt(started)
              .setProducedAt(Instant.now())
              .build();
      // keyed by prompt: a prompt's K responses land on one partition, in order
      var key = prompt.getPromptId().getBytes(StandardCharsets.UTF_8);
      acks.add(producer.send(new ProducerRecord<>(Topics.ROLLOUTS, key, ROLLOUTS.encode(rollout))));
    }
    producer.flush();
    Acks.await(
        acks,
        settings.kafkaTimeout(),
        settings.actorId() + "'s rollouts",
        (message, cause) ->
            new IllegalStateException(
                message + "; prompt offsets not committed, the prompts will be answered again",
                cause));
  }

  private void fail(RuntimeException e) {
    log.accept(settings.actorId() + ": stopping: " + e.getMessage());
    running = false;
    ended.completeExceptionally(e);
  }

  @Override
  public Future<?> stop() {
    running = false;
    try {
      consumer.close(settings.kafkaTimeout());
      producer.close(settings.kafkaTimeout());
    } finally {
      for (var model : new AutoCloseable[] {policy, reference, reward}) {
        if (model != null) closeQuietly(model);
      }
      ended.complete(null);
    }
    return Future.succeededFuture();
  }

  private void closeQuietly(AutoCloseable model) {
    try {
      model.close();
    } catch (Exception e) {
      log.accept(settings.actorId() + ": closing a model failed: " + e);
    }
  }

  /** Commits what is answered before partitions move to another actor, and forgets the rest. */
  private final class Rebalance implements ConsumerRebalanceListener {
    @Override
    public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
      var offsets = queue.committable();
      offsets.keySet().retainAll(partitions);
      if (!offsets.isEmpty()) consumer.commitSync(offsets, settings.kafkaTimeout());
      queue.revoke(partitions);
    }

    @Override
    public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
      if (!partitions.isEmpty())
        log.accept(settings.actorId() + ": assigned prompt partitions " + partitions);
    }

    @Override
    public void onPartitionsLost(Collection<TopicPartition> partitions) {
      queue.revoke(partitions); // already owned by another member: committing would fail
    }
  }
}
