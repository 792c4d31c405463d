package io.streamrlhf.actors;

import io.streamrlhf.model.ByteTokenizer;
import io.streamrlhf.model.ComputeDevice;
import io.streamrlhf.model.Generator;
import io.streamrlhf.model.Gpt;
import io.streamrlhf.model.GptConfig;
import io.streamrlhf.model.RewardFunction;
import io.streamrlhf.model.RewardModel;
import io.streamrlhf.model.RolloutGenerator;
import io.streamrlhf.model.WeightSnapshot;
import io.streamrlhf.model.checkpoint.Checkpoint;
import io.streamrlhf.schemas.AvroCodec;
import io.streamrlhf.schemas.LabelRequest;
import io.streamrlhf.schemas.Prompt;
import io.streamrlhf.schemas.PublishedWeights;
import io.streamrlhf.schemas.Rollout;
import io.streamrlhf.schemas.RolloutRecords;
import io.streamrlhf.schemas.Topics;
import io.streamrlhf.schemas.WeightModel;
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
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.Supplier;
import org.apache.kafka.clients.consumer.CommitFailedException;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.RebalanceInProgressException;

/**
 * One rollout actor (DESIGN.md, "The loop"): consumes {@code rlhf.prompts} in the actors' consumer
 * group, samples K responses per prompt with its current policy (behaviour log-probs kept), scores
 * them under the frozen SFT reference and the reward model ({@link RolloutGenerator}), and produces
 * one {@link Rollout} per response to {@code rlhf.rollouts} with an idempotent producer. Each
 * rollout names the policy and reward-model versions that made it, with the reward version's
 * statistics ({@link RewardScale}). For a share of the prompts ({@link
 * ActorSettings#labelRequestShare}) it also produces a {@link LabelRequest} to {@code
 * rlhf.label-requests}: K_label answers for people or simulated labelers to rank.
 *
 * <p>Sampling is blocking compute, so this is a worker verticle: one step (swap weights if a new
 * version arrived, poll, sample what is eligible, produce, commit) runs at a time on its context,
 * interleaved with the weight messages its {@link WeightSubscriber}s send. The reward model changes
 * only between batches. The policy too by default; with {@link WeightSwap#IN_FLIGHT} the actor also
 * applies a new policy version between two decode steps of a batch (PipelineRL), which it reads
 * from its {@link PolicyMailbox} (the policy subscriber fills it from its own thread: the actor's
 * context is busy for the whole batch). Each token then carries the version that sampled it, and
 * the rollout's policyVersion is the oldest of them.
 *
 * <p>Flow control: a prompt carries {@code minPolicyVersion}; the actor samples it only with a
 * policy at least that new and otherwise keeps it queued and waits, saying so every {@link
 * #WAIT_LOG}, and fails after {@link ActorSettings#versionWait}. Prompt offsets are committed only
 * after the prompt's rollouts are acknowledged ({@link PromptQueue}).
 */
public final class RolloutActor extends VerticleBase {
  /**
   * How the actor obtains its models (loaded on its own worker thread at start): the SFT reference
   * and, given that reference, the reward ({@link ActorReward}: a reward model, whose likelihood
   * term reads the reference, as version 0 and then the versions a reward trainer publishes; the
   * oracle for gold-reward PPO; or only the published versions).
   */
  public record Models(Supplier<Gpt> reference, ActorReward reward, Map<String, String> terms) {
    /**
     * @param terms how this actor samples and scores, by the policy meta key the learner states its
     *     own under: the reward source ({@link PublishedWeights#META_REWARD_SOURCE}), the SHA-256
     *     of the frozen models' weights ({@link PublishedWeights#META_REFERENCE_SHA256}, {@link
     *     PublishedWeights#META_REWARD_MODEL_SHA256}), responses per prompt and sampling
     *     temperature ({@link PublishedWeights#META_SAMPLING}); a key missing on either side is not
     *     compared
     */
    public Models {
      terms = Map.copyOf(terms);
    }

    public Models(Supplier<Gpt> reference, ActorReward reward) {
      this(reference, reward, Map.of());
    }

    /** A reward that never changes ({@link ActorReward.Fixed}): the oracle, a test's function. */
    public Models(Supplier<Gpt> reference, Function<Gpt, RewardFunction> reward) {
      this(reference, new ActorReward.Fixed(reward));
    }

    /** These models, with how they sample and score by meta key. */
    public Models withTerms(Map<String, String> terms) {
      return new Models(reference, reward, terms);
    }

    /**
     * The SFT reference from the checkpoint in {@code sftDir}, each actor loading its own copy, and
     * the reward the caller's config chose on it: a reward-model checkpoint as version 0 ({@link
     * Checkpoint#loadRewardModel}), the oracle, or the live versions of a reward trainer.
     */
    public static Models load(Path sftDir, ActorReward reward) {
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

    /** {@link #load(Path, ActorReward)} with a reward that never changes. */
    public static Models load(Path sftDir, Function<Gpt, RewardFunction> reward) {
      return load(sftDir, new ActorReward.Fixed(reward));
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
  private static final AvroCodec<LabelRequest> LABEL_REQUESTS = AvroCodec.of(LabelRequest.class);

  private final ActorSettings settings;
  private final Models models;
  private final Consumer<String> log;
  private final CompletableFuture<Void> ended = new CompletableFuture<>();
  private final PromptQueue queue = new PromptQueue();
  private final PolicyMailbox mailbox = new PolicyMailbox();
  private KafkaConsumer<byte[], byte[]> consumer;
  private DecodingConsumer<Prompt> prompts;
  private KafkaProducer<byte[], byte[]> producer;
  private Gpt reference;
  private Gpt policy;
  private long version = -1;

  /** Null until the first reward-model version arrives (live reward). */
  private RewardFunction reward;

  private long rewardVersion = -1;

  /** The statistics of {@link #rewardVersion}; null: the learner's own (the oracle). */
  private RewardScale rewardScale;

  /** Samples with the current policy and reward; rebuilt when either object changes. */
  private RolloutGenerator generator;

  private PublishedWeights pendingReward;
  private boolean running;

  /**
   * Set when it failed: its clients are closed and, from then on, nothing is committed (a batch it
   * took from the queue but did not answer must be polled again).
   */
  private boolean failed;

  /**
   * Whether the clients are closing: a stop waits at most {@link #STOP} for the broker to take the
   * answered offsets and the records in flight, not the kafka timeout each wait of a running actor
   * allows (twice over, a broker that is gone kept the process 30 s and more). Prompts not
   * committed by then are answered again by another actor, and the learner drops the duplicate
   * rollouts.
   */
  private boolean closing;

  private static final Duration STOP = Duration.ofSeconds(10);

  private long waitingSince;
  private long lastWaitLog;

  public RolloutActor(ActorSettings settings, Models models, Consumer<String> log) {
    this.settings = settings;
    this.models = models;
    this.log = log;
  }

  /** Where the policy weight subscriber puts new versions for this actor. */
  PolicyMailbox policyMailbox() {
    return mailbox;
  }

  /** Completes when the actor stops: normally on undeploy, exceptionally when it gave up. */
  public CompletableFuture<Void> ended() {
    return ended;
  }

  /** When this actor started: a version published before it was read from the log on joining. */
  private Instant startedAt;

  @Override
  public Future<?> start() {
    startedAt = Instant.now();
    ActorEvents.registerCodecs(vertx);
    // whatever escapes one of its handlers, an Error included, ends the actor loudly
    context.exceptionHandler(this::fail);
    Gpt.inferenceOnlyThread();
    reference = models.reference().get();
    if (models.reward() instanceof ActorReward.Fixed fixed) {
      reward = fixed.load().apply(reference);
      rewardVersion = 0;
    } else if (models.reward() instanceof ActorReward.Offline offline) {
      reward = offline.load().apply(reference);
      rewardVersion = 0;
      rewardScale = offline.scale();
    }
    var id = settings.actorId();
    consumer =
        new KafkaConsumer<>(
            KafkaClientConfigs.groupConsumer(settings.kafka(), settings.groupId(), id));
    producer = new KafkaProducer<>(KafkaClientConfigs.producer(settings.kafka(), id));
    prompts =
        new DecodingConsumer<>(
            consumer,
            AvroCodec.of(Prompt.class),
            PromptChecks.fitting(reference.config().contextLength(), settings.maxNewTokens()),
            producer,
            id,
            settings.kafkaTimeout());
    consumer.subscribe(List.of(Topics.PROMPTS), new Rebalance());
    vertx
        .eventBus()
        .<PublishedWeights>localConsumer(
            ActorEvents.weights(id),
            message -> {
              // keep only the newest of each model: an older pending version would be swapped out
              // before use anyway
              var weights = message.body();
              if (weights.model() == WeightModel.REWARD) {
                if (pendingReward == null || weights.version() > pendingReward.version())
                  pendingReward = weights;
              } else {
                mailbox.offer(weights);
              }
            });
    running = true;
    log.accept(
        String.format(
            "%s: rollout actor started (group %s, K=%d, policy swaps %s%s); scoring with %s;"
                + " waiting for the first policy version on %s",
            id,
            settings.groupId(),
            settings.responsesPerPrompt(),
            settings.swap(),
            settings.labelRequestShare() > 0
                ? String.format(
                    ", asking %.0f%% of prompts to be ranked with %d answers on %s",
                    100 * settings.labelRequestShare(),
                    settings.labelResponses(),
                    Topics.LABEL_REQUESTS)
                : "",
            reward == null
                ? "the reward model the trainer publishes on "
                    + Topics.REWARD_WEIGHTS
                    + " (none yet)"
                : models.reward().followsPublishedVersions()
                    ? "reward model v0, then newer versions on " + Topics.REWARD_WEIGHTS
                    : "a fixed reward",
            Topics.POLICY_WEIGHTS));
    context.runOnContext(v -> step());
    return Future.succeededFuture();
  }

  private void step() {
    if (!running) return;
    try {
      Gpt.inferenceOnlyThread(); // worker-pool threads vary; grad mode is per thread
      int threads = settings.intraOpThreads();
      if (threads > 0 && Gpt.intraOpThreads() != threads) Gpt.intraOpThreads(threads);
      applyPendingPolicy();
      applyPendingReward();
      boolean ready = version >= 0 && reward != null;
      // With samplable prompts already queued, only collect what has arrived: waiting in poll would
      // idle the actor between batches (it cost one whole POLL per batch).
      for (var p : prompts.poll(ready && queue.hasEligible(version) ? Duration.ZERO : POLL)) {
        queue.add(p.value(), new TopicPartition(p.topic(), p.partition()), p.offset());
      }
      var batch =
          ready
              ? queue.takeEligible(version, settings.maxPromptsPerBatch())
              : List.<PromptQueue.Queued>of();
      if (!batch.isEmpty()) {
        waitingSince = 0;
        sampleAndProduce(batch);
        commit();
      } else if (!queue.isEmpty()) {
        waitForModels();
      } else {
        waitingSince = 0;
      }
    } catch (RuntimeException e) {
      fail(e);
      return;
    }
    context.runOnContext(v -> step());
  }

  /**
   * Commits what is answered. A commit the group refuses because it moved on without this actor
   * (whose session expired, or whose batch outlasted max.poll.interval.ms) is not a failure: the
   * partitions' new owner answers those prompts again, the learner drops the duplicate rollouts,
   * and this actor rejoins at its next poll.
   */
  private void commit() {
    try {
      consumer.commitSync(queue.committable(), settings.kafkaTimeout());
    } catch (CommitFailedException | RebalanceInProgressException e) {
      log.accept(
          settings.actorId()
              + ": answered prompts not committed, the group rebalanced meanwhile; their"
              + " partitions' owner answers them again ("
              + e.getClass().getSimpleName()
              + ")");
    }
  }

  /**
   * Swaps to the newest whole policy version received: between batches, or between decode steps
   * when sampling in flight (then loaded into the very model the running batch samples from).
   */
  private void applyPendingPolicy() {
    applyPendingPolicy(false);
  }

  private void applyPendingPolicy(boolean midBatch) {
    var snapshot = mailbox.take();
    if (snapshot == null || snapshot.version() <= version) return;
    requireTheLearnersTerms(snapshot);
    long loading = System.nanoTime();
    // the subscriber's assembler verified the SHA-256 of exactly these bytes before handing them
    // over
    var weights = WeightSnapshot.decodeTransportVerified(snapshot.bytes());
    if (policy == null) {
      var config = GptConfig.fromJson(snapshot.meta().get(PublishedWeights.META_MODEL_CONFIG));
      policy = Gpt.create(config, 0);
      generator = null;
    }
    policy.load(weights);
    double loadMs = (System.nanoTime() - loading) / 1e6;
    version = snapshot.version();
    long ms = Math.max(0, Instant.now().toEpochMilli() - snapshot.publishedAt().toEpochMilli());
    // published before this actor started: the time since measures its joining, not the weight
    // path, and is told apart
    boolean joined = snapshot.publishedAt().isBefore(startedAt);
    if (version % settings.logEveryVersions() == 0 || joined) {
      log.accept(
          String.format(
              "%s: policy v%d applied (%s%s)",
              settings.actorId(),
              version,
              joined
                  ? "published before this actor started; read from the log"
                  : ms + " ms after it was published",
              midBatch ? "; in flight, mid-batch" : ""));
    }
    vertx
        .eventBus()
        .publish(
            ActorEvents.APPLIED,
            ActorEvents.applied(settings.actorId(), version, ms, loadMs).put("joined", joined));
  }

  /**
   * Refuses a policy version from a learner that samples or scores otherwise than this actor, with
   * another reward source, other frozen models, responses per prompt or sampling temperature: the
   * rewards, reference log-probs and scores it adds to every rollout would be another's, its
   * behaviour log-probs another temperature's (the learner's importance weights and KL would
   * quietly be wrong), or the learner would wait for answers it never gets.
   */
  private void requireTheLearnersTerms(PublishedWeights snapshot) {
    // the source first: with another one, the reward model's hash is on one side only
    var source = models.terms().get(PublishedWeights.META_REWARD_SOURCE);
    var theirSource = snapshot.meta().get(PublishedWeights.META_REWARD_SOURCE);
    if (source != null && theirSource != null && !source.equals(theirSource))
      throw new LearnerMismatch(
          String.format(
              "policy v%d comes from a learner trained against --reward %s, and this actor scores"
                  + " with --reward %s: start the actor with the learner's --reward",
              snapshot.version(), theirSource, source));
    for (var mine : models.terms().entrySet()) {
      if (mine.getKey().equals(PublishedWeights.META_REWARD_SOURCE)) continue;
      var theirs = snapshot.meta().get(mine.getKey());
      if (theirs == null || theirs.equals(mine.getValue())) continue;
      if (PublishedWeights.META_SAMPLING.contains(mine.getKey())) {
        if (sameNumber(theirs, mine.getValue())) continue;
        throw new LearnerMismatch(
            String.format(
                "policy v%d comes from a learner with %s=%s, and this actor samples with %s: start"
                    + " the actor with the learner's settings (--set %s=%s, or its --config)",
                snapshot.version(), mine.getKey(), theirs, mine.getValue(), mine.getKey(), theirs));
      }
      boolean reference = mine.getKey().equals(PublishedWeights.META_REFERENCE_SHA256);
      var flag = reference ? "--sft" : "--rm";
      throw new LearnerMismatch(
          String.format(
              "policy v%d comes from a learner whose %s (%s) has weights SHA-256 %s, and this"
                  + " actor's has %s: start the actor with the learner's %s",
              snapshot.version(),
              reference ? "SFT model" : "reward model",
              flag,
              theirs,
              mine.getValue(),
              flag));
    }
  }

  /** Whether two stated settings are the same number however each was written ("1" and "1.0"). */
  private static boolean sameNumber(String a, String b) {
    try {
      return Double.parseDouble(a) == Double.parseDouble(b);
    } catch (NumberFormatException notNumbers) {
      return false;
    }
  }

  /**
   * Swaps to the newest whole reward-model version received, between batches: loads its weights
   * into the reward network in place when the shape is unchanged, and from then on stamps rollouts
   * with its version and statistics. An older or equal version is ignored (a trainer that starts
   * from the offline reward model publishes it as v0, which the actor already holds).
   */
  private void applyPendingReward() {
    if (pendingReward == null) return;
    var snapshot = pendingReward;
    pendingReward = null;
    if (snapshot.version() <= rewardVersion) return;
    // a trainer of another run's SFT model: its likelihood term and its rankings' answers are
    // another model's (versions of older trainers name none and are taken)
    var mine = models.terms().get(PublishedWeights.META_REFERENCE_SHA256);
    var theirs = snapshot.meta().get(PublishedWeights.META_REFERENCE_SHA256);
    if (mine != null && theirs != null && !mine.equals(theirs)) {
      log.accept(
          String.format(
              "%s: reward model v%d not applied: its reward trainer's SFT model (--sft) has weights"
                  + " SHA-256 %s, and this actor's has %s; %s",
              settings.actorId(),
              snapshot.version(),
              theirs,
              mine,
              reward == null
                  ? "still waiting for a reward model of a trainer on this actor's --sft"
                  : "scoring on with reward model v" + rewardVersion));
      return;
    }
    long loading = System.nanoTime();
    var config = GptConfig.fromJson(snapshot.meta().get(PublishedWeights.META_MODEL_CONFIG));
    var scale = RewardScale.fromMeta(snapshot.meta());
    double likelihoodWeight = RewardScale.likelihoodWeight(snapshot.meta());
    // verified by the subscriber's assembler, as for the policy
    var weights = WeightSnapshot.decodeTransportVerified(snapshot.bytes());
    Gpt network;
    if (reward instanceof RewardModel current && current.model().config().equals(config)) {
      network = current.model();
      network.load(weights);
    } else {
      network = Gpt.fromSnapshot(config, weights, ComputeDevice.forModels());
      if (reward != null) closeQuietly(reward);
    }
    reward = new RewardModel(network, reference, likelihoodWeight);
    generator = null;
    rewardVersion = snapshot.version();
    rewardScale = scale;
    double loadMs = (System.nanoTime() - loading) / 1e6;
    var appliedAt = Instant.now();
    long ms = Math.max(0, appliedAt.toEpochMilli() - snapshot.publishedAt().toEpochMilli());
    log.accept(
        String.format(
            "%s: reward model v%d applied (%d ms after it was published)",
            settings.actorId(), rewardVersion, ms));
    vertx
        .eventBus()
        .publish(
            ActorEvents.REWARD_APPLIED,
            ActorEvents.rewardApplied(
                settings.actorId(), rewardVersion, ms, loadMs, appliedAt.toEpochMilli()));
  }

  /** Queued prompts wait for a policy version they accept, or for the first reward model. */
  private void waitForModels() {
    long now = System.nanoTime();
    if (waitingSince == 0) {
      waitingSince = now;
      lastWaitLog = now;
      return;
    }
    boolean policyMissing = !queue.hasEligible(version);
    var awaited =
        policyMissing
            ? String.format("policy v%d, holding %s", queue.lowestMinVersion(), vName(version))
            : "the first reward-model version";
    long waited = now - waitingSince;
    if (waited > settings.versionWait().toNanos()) {
      throw new IllegalStateException(
          String.format(
              "%s: gave up after %d s waiting for %s for %d queued prompt(s); is %s running and"
                  + " publishing to %s?",
              settings.actorId(),
              settings.versionWait().toSeconds(),
              awaited,
              queue.size(),
              policyMissing ? "the learner" : "the reward trainer",
              policyMissing ? Topics.POLICY_WEIGHTS : Topics.REWARD_WEIGHTS));
    }
    if (now - lastWaitLog > WAIT_LOG.toNanos()) {
      lastWaitLog = now;
      log.accept(
          String.format(
              "%s: %d prompt(s) need %s; waiting (%d s of %d s)",
              settings.actorId(),
              queue.size(),
              awaited,
              waited / 1_000_000_000L,
              settings.versionWait().toSeconds()));
    }
  }

  private static String vName(long version) {
    return version < 0 ? "none" : "v" + version;
  }

  private void sampleAndProduce(List<PromptQueue.Queued> batch) {
    var started = Instant.now();
    var seeded = new ArrayList<RolloutGenerator.SeededPrompt>(batch.size());
    for (var q : batch) {
      seeded.add(
          new RolloutGenerator.SeededPrompt(
              ByteTokenizer.encode(q.prompt().getText()), q.prompt().getSamplingSeed()));
    }
    if (generator == null) {
      generator =
          new RolloutGenerator(
              policy, reference, reward, settings.maxNewTokens(), settings.temperature());
    }
    // In flight, a newer version is loaded between decode steps and the KV cache kept: the tokens
    // after the swap attend to keys and values the older weights computed, PipelineRL's accepted
    // approximation. Their behaviour log-probs are still exactly what they were sampled with.
    Generator.Versions versions =
        settings.swap() == WeightSwap.IN_FLIGHT
            ? step -> {
              if (step > 0) applyPendingPolicy(true);
              return version;
            }
            : Generator.Versions.fixed(version);
    var samples = generator.sample(seeded, settings.responsesPerPrompt(), versions);
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
              .setRewardVersion(rewardVersion)
              .setRewardMean(rewardScale == null ? null : (float) rewardScale.mean())
              .setRewardStd(rewardScale == null ? null : (float) rewardScale.std())
              .setRewardLikelihoodWeight(
                  rewardScale == null ? null : (float) rewardScale.likelihoodWeight())
              .setPolicyVersion(s.oldestVersion()) // staleness checks read the oldest
              .setTokenVersions(RolloutRecords.longList(s.tokenVersions()))
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
    for (var request : labelRequests(batch, seeded, samples)) {
      var key = request.getRequestId().getBytes(StandardCharsets.UTF_8);
      acks.add(
          producer.send(
              new ProducerRecord<>(Topics.LABEL_REQUESTS, key, LABEL_REQUESTS.encode(request))));
    }
    producer.flush();
    Acks.await(
        acks,
        settings.kafkaTimeout(),
        settings.actorId() + "'s rollouts and label requests",
        (message, cause) ->
            new IllegalStateException(
                message + "; prompt offsets not committed, the prompts will be answered again",
                cause));
  }

  /**
   * The label requests of the batch's prompts that {@link LabelRequests#asks}: each with the
   * prompt's first K_label samples as text, the rollouts' own K and, when K_label is larger, the
   * sample indices after them drawn now with the same policy ({@link RolloutGenerator#responses}).
   */
  private List<LabelRequest> labelRequests(
      List<PromptQueue.Queued> batch,
      List<RolloutGenerator.SeededPrompt> seeded,
      List<RolloutGenerator.Sample> samples) {
    var asking = new ArrayList<Integer>();
    for (int i = 0; i < batch.size(); i++) {
      if (LabelRequests.asks(batch.get(i).prompt().getPromptId(), settings.labelRequestShare()))
        asking.add(i);
    }
    if (asking.isEmpty()) return List.of();
    int k = settings.responsesPerPrompt();
    int kLabel = settings.labelResponses();
    var extra =
        generator.responses(asking.stream().map(seeded::get).toList(), Math.min(k, kLabel), kLabel);
    int extraPerPrompt = Math.max(0, kLabel - k);
    var requests = new ArrayList<LabelRequest>(asking.size());
    for (int a = 0; a < asking.size(); a++) {
      int i = asking.get(a);
      var texts = new ArrayList<String>(kLabel);
      for (int s = 0; s < Math.min(k, kLabel); s++) {
        texts.add(ByteTokenizer.decode(samples.get(i * k + s).response()));
      }
      for (int e = 0; e < extraPerPrompt; e++) {
        texts.add(ByteTokenizer.decode(extra.get(a * extraPerPrompt + e).tokens()));
      }
      var prompt = batch.get(i).prompt();
      requests.add(
          LabelRequest.newBuilder()
              .setRequestId(LabelRequests.requestId(prompt.getPromptId()))
              .setPromptId(prompt.getPromptId())
              .setPromptText(prompt.getText())
              .setResponses(texts)
              .setPolicyVersion(version)
              .setRewardVersion(rewardVersion)
              .setActorId(settings.actorId())
              .setCreatedAt(Instant.now())
              .build());
    }
    return requests;
  }

  /**
   * Ends the actor on its own: it stops stepping and closes its clients at once, so it leaves the
   * group and its partitions move now (from the last committed offsets), then {@link #ended} fails
   * with a {@link VerticleFailure}. Its owner undeploys it (closing the models).
   */
  private void fail(Throwable e) {
    if (failed) return;
    failed = true;
    running = false;
    var failure = new VerticleFailure(settings.actorId(), e);
    log.accept(settings.actorId() + ": stopping: " + failure.getMessage());
    closeClients();
    ended.completeExceptionally(failure);
  }

  @Override
  public Future<?> stop() {
    running = false;
    try {
      closeClients();
    } finally {
      for (var model : new AutoCloseable[] {policy, reference, reward}) {
        if (model != null) closeQuietly(model);
      }
      ended.complete(null);
    }
    return Future.succeededFuture();
  }

  /** Closes the consumer (leaving the group) and the producer, once. */
  private void closeClients() {
    try {
      closing = true; // the rebalance listener's commit waits no longer than the stop
      if (consumer != null) consumer.close(STOP); // the rebalance listener runs
    } catch (RuntimeException e) {
      log.accept(
          settings.actorId()
              + ": closing the prompt consumer failed, its answered prompts perhaps uncommitted"
              + " (another actor answers them again): "
              + e);
    } finally {
      consumer = null;
    }
    try {
      if (producer != null) producer.close(STOP);
    } catch (RuntimeException e) {
      log.accept(settings.actorId() + ": closing the producer failed: " + e);
    } finally {
      producer = null;
    }
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
      // a failed actor commits nothing more: the batch it was answering is not in the queue
      if (!failed && !offsets.isEmpty())
        consumer.commitSync(offsets, closing ? STOP : settings.kafkaTimeout());
      queue.revoke(partitions);
    }

    /** Whether this actor has said that it holds no prompt partition, since it last held one. */
    private boolean saidIdle;

    @Override
    public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
      if (!partitions.isEmpty())
        log.accept(settings.actorId() + ": assigned prompt partitions " + partitions);
      boolean none = consumer.assignment().isEmpty();
      if (none && !saidIdle) {
        log.accept(
            settings.actorId()
                + ": no prompt partition for this actor: other actors of the group hold every"
                + " partition of "
                + Topics.PROMPTS
                + ", so it samples nothing until one leaves (a learner that creates the topic with"
                + " a higher prompt_partitions keeps more actors busy)");
      }
      saidIdle = none;
    }

    @Override
    public void onPartitionsLost(Collection<TopicPartition> partitions) {
      queue.revoke(partitions); // already owned by another member: committing would fail
    }
  }
}
