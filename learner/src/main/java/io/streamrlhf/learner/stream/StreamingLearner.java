package io.streamrlhf.learner.stream;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.streamrlhf.learner.config.ConfigLoader;
import io.streamrlhf.learner.config.PpoConfig;
import io.streamrlhf.learner.ppo.PpoLearner;
import io.streamrlhf.learner.ppo.PpoStage;
import io.streamrlhf.learner.ppo.Rollout;
import io.streamrlhf.learner.ppo.RolloutBatch;
import io.streamrlhf.learner.ppo.RewardSource;
import io.streamrlhf.learner.train.TrainState;
import io.streamrlhf.model.Gpt;
import io.streamrlhf.model.GptConfig;
import io.streamrlhf.model.checkpoint.Checkpoint;
import io.streamrlhf.model.checkpoint.Json;
import io.streamrlhf.schemas.AvroCodec;
import io.streamrlhf.schemas.Topics;
import io.streamrlhf.schemas.WeightModel;
import io.streamrlhf.schemas.WeightSnapshot;
import io.streamrlhf.schemas.kafka.Decoded;
import io.streamrlhf.schemas.kafka.DecodingConsumer;
import io.streamrlhf.schemas.kafka.KafkaClientConfigs;
import io.streamrlhf.schemas.kafka.WeightPublisher;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.common.TopicPartition;

/**
 * The learner of the streaming loop (DESIGN.md, "The loop"): consumes {@code rlhf.rollouts},
 * forms batches of prompts_per_batch × K rollouts, applies the same {@link PpoLearner} update as
 * the in-process stage, and after every update checkpoints and publishes the new policy weights.
 * It also feeds the prompts ({@link PromptFeed}), which is how it bounds staleness up front.
 *
 * <p>Staleness and off-policy correction. A rollout sampled by policy version v reaches the
 * learner at version u ≥ v. Rollouts with u − v > max_lag are dropped and counted. The rest are
 * corrected by decoupled PPO (Hilton et al. 2022, "Batch size-invariance for policy
 * optimization"; used for asynchronous RLHF by AReaL, Fu et al. 2025), already in {@link
 * io.streamrlhf.learner.ppo.Ppo#decoupledPolicyLoss}: the clipped ratio is taken against the
 * proximal policy (the learner's own weights before this update, recomputed in {@link
 * PpoLearner#prepare}), and the behaviour log-probs the actor sent only enter a truncated
 * importance weight π_prox/π_behav ≤ c̄. Chosen over IMPALA's V-trace because PPO's trust region
 * then stays anchored to weights the learner holds, whatever version sampled the data, and with
 * lag 0 it reduces exactly to PPO (weight 1), so the synchronous loop equals the in-process stage.
 *
 * <p>Exactly-once (the Flink pattern): every update's checkpoint holds, atomically with weights,
 * optimizer, policy version and random state, the rollout offsets consumed per partition and the
 * {@link RolloutLedger} of consumed rollout ids; a restarted learner seeks to those offsets and
 * skips ids in the ledger. Weights are published only after the checkpoint that holds them, so no
 * actor ever samples with a version a restarted learner does not have.
 *
 * <p>Every network wait has a timeout and says what it waits for while it waits.
 */
public final class StreamingLearner {
  /** Train-state extra holding the streaming state. */
  public static final String EXTRA_KEY = "stream";

  private static final Duration POLL = Duration.ofMillis(500);
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

  private final PpoConfig config;
  private final Settings settings;
  private final Path outDir;
  private final PrintWriter out;
  private final StreamStats stats = new StreamStats();
  private final ArrayDeque<Decoded.Value<io.streamrlhf.schemas.Rollout>> carried = new ArrayDeque<>();
  private final List<TopicPartition> partitions = new ArrayList<>();
  private AppliedRolloutLog applied;
  private String run;
  private RolloutLedger ledger;

  private StreamingLearner(PpoConfig config, Settings settings, Path outDir, PrintWriter out) {
    this.config = config;
    this.settings = settings;
    this.outDir = outDir;
    this.out = out;
    for (int p = 0; p < Topics.ROLLOUT_PARTITIONS; p++) partitions.add(new TopicPartition(Topics.ROLLOUTS, p));
  }

  /** Runs (or, when {@code outDir} holds its checkpoint, resumes) the loop until {@code updates}. */
  public static StreamStats.Summary run(PpoConfig config, Settings settings, Path sftDir, Path rmDir, Path outDir,
      PrintWriter out) throws IOException {
    return new StreamingLearner(config, settings, outDir, out).run(sftDir, rmDir);
  }

  private StreamStats.Summary run(Path sftDir, Path rmDir) throws IOException {
    out.println(ConfigLoader.describe(config));
    if (config.checkpointEveryUpdates() != 1) {
      out.printf("learner: checkpointing after every update, not every %d: weights are published only once a"
          + " checkpoint holds them, so a restarted learner never lags the actors (checkpoint_every_updates applies"
          + " to the in-process loop)%n", config.checkpointEveryUpdates());
    }
    var source = RewardSource.of(config.reward(), rmDir);
    RewardSource.Normalisation rmStats;
    try (var sft = Checkpoint.loadModel(sftDir)) {
      rmStats = source.normalisation(sft);
    }
    out.printf("learner: reward from %s, normalised with mean %.4f, std %.4f (on SFT samples)%n", source.describe(),
        rmStats.mean(), rmStats.std());
    boolean resume = Checkpoint.exists(outDir);
    ConfigLoader.save(config, outDir);
    var schedule = config.learningRateSchedule(config.updates());
    var id = "learner";
    try (var consumer = new KafkaConsumer<byte[], byte[]>(
            KafkaClientConfigs.groupConsumer(settings.bootstrapServers(), "rlhf-learner", id));
        var producer = new KafkaProducer<byte[], byte[]>(KafkaClientConfigs.producer(settings.bootstrapServers(), id));
        var policy = resume ? Gpt.create(Checkpoint.modelConfig(outDir), 0) : Checkpoint.loadModel(sftDir);
        var learner = new PpoLearner(policy, config, rmStats)) {
      // manual assignment: the learner owns every rollout partition and seeks to its own offsets
      consumer.assign(partitions);
      var rollouts = new DecodingConsumer<>(consumer, ROLLOUTS, producer, id, settings.kafkaTimeout());
      var weights = new WeightPublisher(producer);
      PromptFeed feed;
      io.streamrlhf.model.WeightSnapshot current; // the policy's weights as the checkpoint in force holds them
      if (resume) {
        var saved = Checkpoint.read(outDir, config.stageName(), TrainState.class);
        policy.load(saved.weights());
        current = saved.weights();
        var stream = saved.state().extra().get(EXTRA_KEY);
        if (stream == null) {
          throw new IllegalArgumentException(outDir + " holds a PPO checkpoint of the in-process stage (no Kafka offsets"
              + " to resume from): choose another --out");
        }
        var progress = Json.MAPPER.treeToValue(stream.get("progress"), PpoLearner.ResumeState.class);
        learner.restore(progress, saved.optimizer());
        run = stream.get("run_id").asText();
        ledger = RolloutLedger.fromJson(stream.get("ledger"), config.promptsPerBatch(), config.responsesPerPrompt());
        if (stream.has("applied_ids")) { // a checkpoint from before the log: carry its ids over into one
          applied = AppliedRolloutLog.create(outDir);
          stream.get("applied_ids").forEach(n -> applied.add(n.asText()));
          applied.flush();
        } else {
          applied = AppliedRolloutLog.resume(outDir, stream.get("applied_log_bytes").asLong(),
              stream.get("applied_count").asLong());
        }
        var offsets = new TreeMap<Integer, Long>();
        stream.get("offsets").fields().forEachRemaining(e -> offsets.put(Integer.parseInt(e.getKey()), e.getValue().asLong()));
        for (var tp : partitions) consumer.seek(tp, offsets.getOrDefault(tp.partition(), 0L));
        long published = saved.state().dataPosition();
        // prompts published before the crash may be gone (a fresh broker) or half-answered: publish every open batch
        // again; rollouts answering a prompt twice carry the same ids, and the ledger applies one of them
        var again = new PromptFeed(producer, run, config.seed(), config.promptsPerBatch(), ledger.firstOpenBatch());
        while (again.nextBatch() < published) {
          again.publishNext(Math.max(0, again.nextBatch() - config.maxLag()), settings.kafkaTimeout());
        }
        feed = new PromptFeed(producer, run, config.seed(), config.promptsPerBatch(), published);
        out.printf("learner: resumed run %s at policy v%d from %s; rollout offsets %s; %s%n", run, learner.updates(),
            outDir, offsets, ledger.firstOpenBatch() < published
                ? "prompt batches " + ledger.firstOpenBatch() + ".." + (published - 1) + " published again"
                : "no open prompt batch");
      } else {
        var weightsTopic = new TopicPartition(Topics.POLICY_WEIGHTS, 0);
        if (consumer.endOffsets(List.of(weightsTopic), settings.kafkaTimeout()).get(weightsTopic) > 0) {
          // actors only ever move to newer versions: a new run's v0 would be ignored next to an old run's vN
          throw new IllegalArgumentException(Topics.POLICY_WEIGHTS + " on " + settings.bootstrapServers()
              + " already holds an earlier run's weights and " + outDir + " holds no checkpoint to resume: resume"
              + " that run with its --out, or start on a fresh cluster (or delete the rlhf.* topics)");
        }
        policy.zeroScalarHead();
        // an identifier, not randomness: tells this run's prompts and rollouts from an earlier run's on the same topics
        run = "r" + Long.toHexString(System.currentTimeMillis());
        ledger = new RolloutLedger(config.promptsPerBatch(), config.responsesPerPrompt());
        // rollouts already on the topic belong to earlier runs: start at the end
        var ends = consumer.endOffsets(partitions, settings.kafkaTimeout());
        for (var tp : partitions) consumer.seek(tp, ends.get(tp));
        feed = new PromptFeed(producer, run, config.seed(), config.promptsPerBatch(), 0);
        applied = AppliedRolloutLog.create(outDir);
        current = checkpoint(consumer, policy, learner, feed);
        out.printf("learner: run %s starts at policy v0 (the SFT model, value head zeroed); rollout offsets %s%n", run,
            ends.values());
      }
      out.flush();
      publishWeights(weights, policy.config(), current);
      publishPrompts(feed, learner.updates());
      while (learner.updates() < config.updates()) {
        var batch = collectBatch(rollouts, learner, feed);
        var update = learner.updates();
        var result = learner.update(batch, schedule.at(update));
        out.printf("learner: update %d/%d  rm %.3f (normalised %+.3f)  kl %.3f  beta %.4f  clip %.3f  "
                + "importance weight %.3f  |g| %.2f  len %.1f%n", result.update(), config.updates(),
            result.meanRmScore(), result.meanNormalisedScore(), result.meanKl(), result.beta(), result.clipFraction(),
            result.meanImportanceWeight(), result.gradNorm(), result.meanResponseTokens());
        var written = checkpoint(consumer, policy, learner, feed);
        out.printf("learner: checkpoint v%d written (%d rollouts applied in all)%n", learner.updates(),
            applied.count());
        out.flush();
        publishWeights(weights, policy.config(), written); // the very weights just checkpointed
        publishPrompts(feed, learner.updates());
      }
      var summary = stats.summary(rollouts.deadLettered());
      summary.write(outDir);
      out.printf("learner: done at policy v%d: %s; wrote %s%n", learner.updates(), summary.line(),
          outDir.resolve(StreamStats.FILE));
      out.flush();
      return summary;
    }
  }

  /** Batch b is published once the learner is at version b − max_lag; the in-process run has {@code updates} batches. */
  private void publishPrompts(PromptFeed feed, long version) {
    while (feed.nextBatch() <= version + config.maxLag() && feed.nextBatch() < config.updates()) {
      long min = Math.max(0, feed.nextBatch() - config.maxLag());
      feed.publishNext(min, settings.kafkaTimeout());
    }
  }

  private void publishWeights(WeightPublisher publisher, GptConfig modelConfig,
      io.streamrlhf.model.WeightSnapshot weights) {
    long version = weights.version();
    var meta = Map.of("model_config", modelConfig.toJson());
    var snapshot = new WeightSnapshot(WeightModel.POLICY, version, weights.encode(), meta, Instant.now());
    int chunks = publisher.publish(snapshot, settings.kafkaTimeout());
    out.printf("learner: published policy v%d (%d chunk(s), %d bytes)%n", version, chunks, snapshot.bytes().length);
  }

  /** Reads rollouts until a batch is full, dropping stale, duplicate and foreign ones (each counted). */
  private RolloutBatch collectBatch(DecodingConsumer<io.streamrlhf.schemas.Rollout> rollouts, PpoLearner learner,
      PromptFeed feed) {
    int wanted = config.promptsPerBatch() * config.responsesPerPrompt();
    long version = learner.updates();
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
        out.printf("learner: published extra prompt batch %d (dropped rollouts left update %d short)%n", batch,
            version + 1);
      }
      if (now - started > settings.rolloutWait().toNanos()) {
        throw new IllegalStateException(String.format("learner: gave up after %d s waiting for rollouts of update %d"
                + " (%d of %d); are actors running against %s and consuming %s?", settings.rolloutWait().toSeconds(),
            version + 1, accepted.size(), wanted, settings.bootstrapServers(), Topics.PROMPTS));
      }
      if (now - lastLog > WAIT_LOG.toNanos()) {
        lastLog = now;
        out.printf("learner: waiting for rollouts of update %d: %d of %d so far (%d s)%n", version + 1,
            accepted.size(), wanted, (now - started) / 1_000_000_000L);
        out.flush();
      }
    }
    // a fixed order whatever the arrival order: batch, prompt, sample (as the in-process sampler lists them)
    accepted.sort(Comparator.comparingLong((Keyed k) -> k.id().batch()).thenComparingInt(k -> k.id().index())
        .thenComparingInt(Keyed::sample));
    return new RolloutBatch(accepted.stream().map(Keyed::rollout).toList());
  }

  private static Rollout toRollout(io.streamrlhf.schemas.Rollout r) {
    return new Rollout(ints(r.getPromptTokens()), ints(r.getResponseTokens()), floats(r.getBehaviourLogProbs()),
        floats(r.getRefLogProbs()), r.getRmScore(), r.getTerminated(), r.getPolicyVersion());
  }

  /**
   * Weights, optimizer, policy version, random state, prompt position, the rollout offsets to
   * resume from and the ledger, in one atomic {@link Checkpoint}; returns the weights it wrote, which
   * are then published as they are rather than copied out of the model a second time.
   */
  private io.streamrlhf.model.WeightSnapshot checkpoint(KafkaConsumer<byte[], byte[]> consumer, Gpt policy,
      PpoLearner learner, PromptFeed feed) throws IOException {
    var offsets = new HashMap<TopicPartition, Long>();
    for (var tp : partitions) offsets.put(tp, consumer.position(tp, settings.kafkaTimeout()));
    for (var r : carried) {
      // read from Kafka but not yet consumed: resume from the first of them
      offsets.merge(new TopicPartition(r.topic(), r.partition()), r.offset(), Math::min);
    }
    var progress = learner.resumeState();
    ObjectNode stream = Json.MAPPER.createObjectNode();
    stream.put("run_id", run);
    var offsetNode = stream.putObject("offsets");
    for (var tp : partitions) offsetNode.put(Integer.toString(tp.partition()), offsets.get(tp));
    stream.set("ledger", ledger.toJson());
    stream.set("progress", Json.MAPPER.valueToTree(progress));
    applied.flush(); // the ids on disk before the checkpoint that counts them
    stream.put("applied_log_bytes", applied.bytes());
    stream.put("applied_count", applied.durableCount());
    var extra = Json.MAPPER.createObjectNode().put("kl_coef", learner.beta());
    extra.set(EXTRA_KEY, stream);
    var state = new TrainState(config.stageName(), learner.updates(), feed.nextBatch(), progress.shuffleRng(),
        learner.updates(), extra);
    var weights = policy.snapshot(learner.updates());
    Checkpoint.write(outDir, policy.config(), weights, learner.optimizerState(), state);
    return weights;
  }

  /** The rollout ids applied so far by the run checkpointed in {@code dir}, in order (a repeat would show twice). */
  public static List<String> appliedRolloutIds(Path dir) throws IOException {
    var stream = Checkpoint.extras(dir).get(EXTRA_KEY);
    if (stream.has("applied_ids")) {
      var ids = new ArrayList<String>();
      stream.get("applied_ids").forEach(n -> ids.add(n.asText()));
      return ids;
    }
    var ids = AppliedRolloutLog.read(dir, stream.get("applied_log_bytes").asLong());
    if (ids.size() != stream.get("applied_count").asLong()) {
      throw new IOException(dir.resolve(AppliedRolloutLog.FILE) + " holds " + ids.size() + " ids where its checkpoint"
          + " counts " + stream.get("applied_count").asLong());
    }
    return ids;
  }

  private static int[] ints(List<Integer> values) {
    return values.stream().mapToInt(Integer::intValue).toArray();
  }

  private static float[] floats(List<Float> values) {
    var out = new float[values.size()];
    for (int i = 0; i < out.length; i++) out[i] = values.get(i);
    return out;
  }
}
