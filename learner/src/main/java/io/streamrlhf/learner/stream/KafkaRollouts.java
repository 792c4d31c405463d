package io.streamrlhf.learner.stream;

import com.fasterxml.jackson.databind.JsonNode;
import io.streamrlhf.learner.config.PpoConfig;
import io.streamrlhf.learner.ppo.PpoLoop;
import io.streamrlhf.learner.ppo.RewardSource;
import io.streamrlhf.learner.ppo.Rollout;
import io.streamrlhf.learner.ppo.RolloutBatch;
import io.streamrlhf.learner.ppo.RolloutSource;
import io.streamrlhf.learner.train.InputError;
import io.streamrlhf.learner.train.TrainState;
import io.streamrlhf.model.GptConfig;
import io.streamrlhf.model.checkpoint.Checkpoint;
import io.streamrlhf.model.checkpoint.Json;
import io.streamrlhf.schemas.AvroCodec;
import io.streamrlhf.schemas.PublishedWeights;
import io.streamrlhf.schemas.RolloutRecords;
import io.streamrlhf.schemas.Topics;
import io.streamrlhf.schemas.WeightModel;
import io.streamrlhf.schemas.transport.Decoded;
import io.streamrlhf.schemas.transport.DecodingConsumer;
import io.streamrlhf.schemas.transport.KafkaClientConfigs;
import io.streamrlhf.schemas.transport.WeightPublisher;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.common.TopicPartition;

/**
 * The learner of the streaming loop (DESIGN.md, "The loop"): consumes {@code rlhf.rollouts}, forms
 * batches of prompts_per_batch × K rollouts for {@link PpoLoop}, the same loop and update as the
 * in-process stage, and publishes the policy weights of every checkpoint the loop writes. It also
 * feeds the prompts ({@link PromptFeed}), which is how it bounds staleness up front.
 *
 * <p>Staleness and off-policy correction. A rollout sampled by policy version v reaches the learner
 * at version u ≥ v. Rollouts with u − v > max_lag are dropped and counted. The rest are corrected
 * by decoupled PPO (Hilton et al. 2022, "Batch size-invariance for policy optimization"; used for
 * asynchronous RLHF by AReaL, Fu et al. 2025), already in {@link
 * io.streamrlhf.learner.ppo.Ppo#decoupledPolicyLoss}: the clipped ratio is taken against the
 * proximal policy (the learner's own weights before this update, recomputed in {@code
 * PpoLearner#prepare}), and the behaviour log-probs the actor sent only enter a truncated
 * importance weight π_prox/π_behav ≤ c̄. Chosen over IMPALA's V-trace because PPO's trust region
 * then stays anchored to weights the learner holds, whatever version sampled the data, and with lag
 * 0 it reduces exactly to PPO (weight 1), so the synchronous loop equals the in-process stage.
 *
 * <p>Exactly-once (the Flink pattern): every update's checkpoint holds, atomically with weights,
 * optimizer, policy version and random state, the rollout offsets consumed per partition and the
 * {@link RolloutLedger} of consumed rollout ids; a restarted learner seeks to those offsets and
 * skips ids in the ledger. Weights are published only after the checkpoint that holds them, so no
 * actor ever samples with a version a restarted learner does not have.
 *
 * <p>Every network wait has a timeout and says what it waits for while it waits.
 */
public final class KafkaRollouts implements RolloutSource {
  private static final Duration POLL = Duration.ofMillis(500);

  /** The {@link AppliedIdLog} of the rollouts applied, beside the checkpoints. */
  static final String APPLIED_FILE = "applied-rollouts.txt";

  private static final Duration WAIT_LOG = Duration.ofSeconds(30);
  private static final AvroCodec<io.streamrlhf.schemas.Rollout> ROLLOUTS =
      AvroCodec.of(io.streamrlhf.schemas.Rollout.class);

  /**
   * @param bootstrapServers the Kafka cluster
   * @param rolloutWait how long to wait for the rollouts of one batch before giving up
   * @param kafkaTimeout every single broker round trip (publishes, offset look-ups)
   */
  public record Settings(String bootstrapServers, Duration rolloutWait, Duration kafkaTimeout) {
    public static Settings of(String bootstrapServers) {
      return new Settings(bootstrapServers, Duration.ofMinutes(10), Duration.ofSeconds(60));
    }
  }

  /**
   * What the checkpoint holds for this source: the run's id, the rollout offsets to resume from,
   * the ledger of consumed rollouts and how much of the applied-rollout log the checkpoint counts.
   */
  record State(
      String runId,
      Map<Integer, Long> offsets,
      JsonNode ledger,
      long appliedLogBytes,
      long appliedCount) {}

  private final PpoConfig config;
  private final Settings settings;
  private final Path outDir;
  private final PrintWriter out;
  private final GptConfig modelConfig;
  private final StreamStats stats = new StreamStats();
  private final ArrayDeque<Decoded.Value<io.streamrlhf.schemas.Rollout>> carried =
      new ArrayDeque<>();
  private final List<TopicPartition> partitions = new ArrayList<>();
  private final KafkaConsumer<byte[], byte[]> consumer;
  private final KafkaProducer<byte[], byte[]> producer;
  private final DecodingConsumer<io.streamrlhf.schemas.Rollout> rollouts;
  private final WeightPublisher weights;
  private AppliedIdLog applied;
  private String run;
  private RolloutLedger ledger;
  private PromptFeed feed;

  private KafkaRollouts(
      PpoConfig config, Settings settings, Path outDir, PrintWriter out, GptConfig modelConfig) {
    this.config = config;
    this.settings = settings;
    this.outDir = outDir;
    this.out = out;
    this.modelConfig = modelConfig;
    for (int p = 0; p < Topics.ROLLOUT_PARTITIONS; p++)
      partitions.add(new TopicPartition(Topics.ROLLOUTS, p));
    var id = "learner";
    consumer =
        new KafkaConsumer<>(
            KafkaClientConfigs.groupConsumer(settings.bootstrapServers(), "rlhf-learner", id));
    producer = new KafkaProducer<>(KafkaClientConfigs.producer(settings.bootstrapServers(), id));
    // a rollout that decodes but the model cannot take goes to the dead-letter topic, not into a
    // batch
    var check = RolloutChecks.forModel(modelConfig);
    rollouts =
        new DecodingConsumer<>(consumer, ROLLOUTS, check, producer, id, settings.kafkaTimeout());
    weights = new WeightPublisher(producer);
    // manual assignment: the learner owns every rollout partition and seeks to its own offsets
    consumer.assign(partitions);
  }

  /**
   * The learner of the streaming loop: runs (or, when {@code outDir} holds its checkpoint, resumes)
   * {@link PpoLoop} over the rollouts on Kafka until {@code updates}; returns the stream's figures,
   * also written to {@code stream-stats.json}.
   */
  public static StreamStats.Summary learn(
      PpoConfig config, Settings settings, Path sftDir, Path rmDir, Path outDir, PrintWriter out)
      throws IOException {
    var source = new KafkaRollouts[1];
    PpoLoop.run(
        config,
        sftDir,
        rmDir,
        outDir,
        Checkpoint.exists(outDir),
        out,
        models -> {
          source[0] = new KafkaRollouts(config, settings, outDir, out, models.policy().config());
          return source[0];
        },
        Long.MAX_VALUE);
    var summary = source[0].summary;
    summary.write(outDir);
    out.printf("learner: %s; wrote %s%n", summary.line(), outDir.resolve(StreamStats.FILE));
    out.flush();
    return summary;
  }

  private StreamStats.Summary summary;

  @Override
  public String name() {
    return "learner";
  }

  @Override
  public boolean checkpointsEveryUpdate() {
    return true;
  }

  @Override
  public String open(Checkpoint.Saved<TrainState> saved) throws IOException {
    if (config.checkpointEveryUpdates() != 1) {
      out.printf(
          "learner: checkpointing after every update, not every %d: weights are published only once a"
              + " checkpoint holds them, so a restarted learner never lags the actors (checkpoint_every_updates applies"
              + " to the in-process loop)%n",
          config.checkpointEveryUpdates());
    }
    if (saved != null) {
      var node = saved.state().extra().get(PpoLoop.SOURCE_STATE);
      if (node == null) {
        throw new InputError(
            outDir
                + " holds a PPO checkpoint of the in-process stage (no Kafka offsets"
                + " to resume from): choose another --out");
      }
      var state = Json.MAPPER.treeToValue(node, State.class);
      run = state.runId();
      ledger =
          RolloutLedger.fromJson(
              state.ledger(), config.promptsPerBatch(), config.responsesPerPrompt());
      applied =
          AppliedIdLog.resume(
              outDir.resolve(APPLIED_FILE), state.appliedLogBytes(), state.appliedCount());
      var offsets = new TreeMap<>(state.offsets());
      for (var tp : partitions) consumer.seek(tp, offsets.getOrDefault(tp.partition(), 0L));
      long published = saved.state().dataPosition();
      // prompts published before the crash may be gone (a fresh broker) or half-answered: publish
      // every open batch
      // again; rollouts answering a prompt twice carry the same ids, and the ledger applies one of
      // them
      var again =
          new PromptFeed(
              producer, run, config.seed(), config.promptsPerBatch(), ledger.firstOpenBatch());
      while (again.nextBatch() < published) {
        again.publishNext(
            Math.max(0, again.nextBatch() - config.maxLag()), settings.kafkaTimeout());
      }
      feed = new PromptFeed(producer, run, config.seed(), config.promptsPerBatch(), published);
      return "resumed run "
          + run
          + " from "
          + outDir
          + "; rollout offsets "
          + offsets
          + "; "
          + (ledger.firstOpenBatch() < published
              ? "prompt batches "
                  + ledger.firstOpenBatch()
                  + ".."
                  + (published - 1)
                  + " published again"
              : "no open prompt batch");
    }
    var weightsTopic = new TopicPartition(Topics.POLICY_WEIGHTS, 0);
    if (consumer.endOffsets(List.of(weightsTopic), settings.kafkaTimeout()).get(weightsTopic) > 0) {
      // actors only ever move to newer versions: a new run's v0 would be ignored next to an old
      // run's vN
      throw new InputError(
          Topics.POLICY_WEIGHTS
              + " on "
              + settings.bootstrapServers()
              + " already holds an earlier run's weights and "
              + outDir
              + " holds no checkpoint to resume: resume"
              + " that run with its --out, or start on a fresh cluster (or delete the rlhf.* topics)");
    }
    // an identifier, not randomness: tells this run's prompts and rollouts from an earlier run's on
    // the same topics
    run = "r" + Long.toHexString(System.currentTimeMillis());
    ledger = new RolloutLedger(config.promptsPerBatch(), config.responsesPerPrompt());
    // rollouts already on the topic belong to earlier runs: start at the end
    var ends = consumer.endOffsets(partitions, settings.kafkaTimeout());
    for (var tp : partitions) consumer.seek(tp, ends.get(tp));
    feed = new PromptFeed(producer, run, config.seed(), config.promptsPerBatch(), 0);
    java.nio.file.Files.createDirectories(outDir);
    applied = AppliedIdLog.create(outDir.resolve(APPLIED_FILE));
    return "run "
        + run
        + " starts from the SFT model, value head zeroed; rollout offsets "
        + ends.values();
  }

  @Override
  public RolloutBatch next(long version) {
    return collectBatch(version);
  }

  @Override
  public Position position() {
    var offsets = new TreeMap<Integer, Long>();
    for (var tp : partitions)
      offsets.put(tp.partition(), consumer.position(tp, settings.kafkaTimeout()));
    for (var r : carried) {
      // read from Kafka but not yet consumed: resume from the first of them
      offsets.merge(r.partition(), r.offset(), Math::min);
    }
    try {
      applied.flush(); // the ids on disk before the checkpoint that counts them
    } catch (IOException e) {
      throw new java.io.UncheckedIOException("cannot write " + applied.file(), e);
    }
    var state = new State(run, offsets, ledger.toJson(), applied.bytes(), applied.durableCount());
    return new Position(feed.nextBatch(), null, Json.MAPPER.valueToTree(state));
  }

  /** Publishes the checkpointed weights, then the prompt batches the new version may answer. */
  @Override
  public void checkpointed(io.streamrlhf.model.WeightSnapshot checkpointed) {
    long version = checkpointed.version();
    var meta = Map.of(PublishedWeights.META_MODEL_CONFIG, modelConfig.toJson());
    var snapshot =
        new PublishedWeights(
            WeightModel.POLICY, version, checkpointed.encode(), meta, Instant.now());
    int chunks = weights.publish(snapshot, settings.kafkaTimeout());
    out.printf(
        "learner: published policy v%d (%d chunk(s), %d bytes)%n",
        version, chunks, snapshot.bytes().length);
    publishPrompts(version);
    if (version == config.updates()) summary = stats.summary(rollouts.deadLettered());
  }

  @Override
  public void close() {
    try (consumer;
        producer) {
      if (summary == null) summary = stats.summary(rollouts.deadLettered());
    }
  }

  /**
   * The rollout ids applied so far by the run checkpointed in {@code dir}, in order (a repeat would
   * show twice).
   */
  public static List<String> appliedRolloutIds(Path dir) throws IOException {
    var node = Checkpoint.extras(dir).get(PpoLoop.SOURCE_STATE);
    var state = Json.MAPPER.treeToValue(node, State.class);
    return AppliedIdLog.read(
        dir.resolve(APPLIED_FILE), state.appliedLogBytes(), state.appliedCount());
  }

  /**
   * Batch b is published once the learner is at version b − max_lag; the in-process run has {@code
   * updates} batches.
   */
  private void publishPrompts(long version) {
    while (feed.nextBatch() <= version + config.maxLag() && feed.nextBatch() < config.updates()) {
      long min = Math.max(0, feed.nextBatch() - config.maxLag());
      feed.publishNext(min, settings.kafkaTimeout());
    }
  }

  /**
   * Reads rollouts until a batch is full, dropping stale, duplicate and foreign ones (each
   * counted).
   */
  private RolloutBatch collectBatch(long version) {
    int wanted = config.promptsPerBatch() * config.responsesPerPrompt();
    record Keyed(PromptId id, int sample, Rollout rollout) {}
    var accepted = new ArrayList<Keyed>(wanted);
    long started = System.nanoTime();
    long lastLog = started;
    while (accepted.size() < wanted) {
      if (carried.isEmpty()) {
        carried.addAll(rollouts.poll(POLL));
      }
      while (!carried.isEmpty() && accepted.size() < wanted) {
        var record = carried.poll();
        var value = record.value();
        var id = PromptId.parse(value.getPromptId()).filter(p -> p.run().equals(run));
        int sample = value.getSampleIndex();
        if (id.isEmpty() || !ledger.fits(id.get(), sample) || value.getPolicyVersion() > version) {
          stats.foreign();
          continue;
        }
        if (ledger.consumed(id.get(), sample)) {
          stats.duplicate();
          continue;
        }
        ledger.markConsumed(id.get(), sample);
        long lag = version - value.getPolicyVersion();
        if (lag > config.maxLag()) {
          stats.droppedStale();
          continue;
        }
        stats.applied(lag);
        applied.add(value.getRolloutId());
        accepted.add(new Keyed(id.get(), sample, toRollout(value)));
      }
      long now = System.nanoTime();
      if (accepted.size() < wanted && ledger.allConsumedThrough(feed.nextBatch() - 1)) {
        // every published prompt is answered but rollouts were dropped: top the supply up
        long batch = feed.publishNext(version, settings.kafkaTimeout());
        out.printf(
            "learner: published extra prompt batch %d (dropped rollouts left update %d short)%n",
            batch, version + 1);
      }
      if (now - started > settings.rolloutWait().toNanos()) {
        throw new IllegalStateException(
            String.format(
                "learner: gave up after %d s waiting for rollouts of update %d"
                    + " (%d of %d); are actors running against %s and consuming %s?",
                settings.rolloutWait().toSeconds(),
                version + 1,
                accepted.size(),
                wanted,
                settings.bootstrapServers(),
                Topics.PROMPTS));
      }
      if (now - lastLog > WAIT_LOG.toNanos()) {
        lastLog = now;
        out.printf(
            "learner: waiting for rollouts of update %d: %d of %d so far (%d s)%n",
            version + 1, accepted.size(), wanted, (now - started) / 1_000_000_000L);
        out.flush();
      }
    }
    // a fixed order whatever the arrival order: batch, prompt, sample (as the in-process sampler
    // lists them)
    accepted.sort(
        Comparator.comparingLong((Keyed k) -> k.id().batch())
            .thenComparingInt(k -> k.id().index())
            .thenComparingInt(Keyed::sample));
    return new RolloutBatch(accepted.stream().map(Keyed::rollout).toList());
  }

  private static Rollout toRollout(io.streamrlhf.schemas.Rollout r) {
    // a reward model that keeps learning sends its version's statistics with every rollout
    var normalisation =
        r.getRewardMean() == null || r.getRewardStd() == null
            ? null
            : new RewardSource.Normalisation(
                r.getRewardMean(),
                r.getRewardStd(),
                r.getRewardLikelihoodWeight() == null ? 0 : r.getRewardLikelihoodWeight());
    return new Rollout(
        RolloutRecords.ints(r.getPromptTokens()),
        RolloutRecords.ints(r.getResponseTokens()),
        RolloutRecords.floats(r.getBehaviourLogProbs()),
        RolloutRecords.floats(r.getRefLogProbs()),
        r.getRmScore(),
        r.getTerminated(),
        r.getPolicyVersion(),
        normalisation);
  }
}
