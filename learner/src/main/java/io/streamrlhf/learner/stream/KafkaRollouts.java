package io.streamrlhf.learner.stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
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
import io.streamrlhf.schemas.WeightChunk;
import io.streamrlhf.schemas.WeightModel;
import io.streamrlhf.schemas.WeightStore;
import io.streamrlhf.schemas.signing.SigningKeys;
import io.streamrlhf.schemas.signing.WeightSigner;
import io.streamrlhf.schemas.transport.Decoded;
import io.streamrlhf.schemas.transport.DecodingConsumer;
import io.streamrlhf.schemas.transport.KafkaAccess;
import io.streamrlhf.schemas.transport.KafkaClientConfigs;
import io.streamrlhf.schemas.transport.WeightPublisher;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;

/**
 * The learner of the streaming loop (DESIGN.md, "The loop"): consumes {@code rlhf.rollouts}, forms
 * batches of prompts_per_batch × K rollouts for {@link PpoLoop}, the same loop and update as the
 * in-process stage, and publishes the policy weights of every checkpoint the loop writes. It also
 * feeds the prompts ({@link PromptFeed}), which is how it bounds staleness up front.
 *
 * <p>Update u trains on exactly prompt batch u ({@link BatchAssembly}), the batch the in-process
 * stage samples at update u; rollouts of later batches that arrive first wait for their update.
 *
 * <p>Staleness and off-policy correction. Batch b is published once the learner reached version b −
 * max_lag and asks for that version at least, so a rollout of it, applied at version b, lags by at
 * most max_lag. One that lags more anyway (an actor that ignored the request, a max_lag lowered on
 * resume) is not used and its prompt is asked again, so no prompt is lost to staleness. The rest
 * are corrected by decoupled PPO (Hilton et al. 2022, "Batch size-invariance for policy
 * optimization"; used for asynchronous RLHF by AReaL, Fu et al. 2025), already in {@link
 * io.streamrlhf.learner.ppo.Ppo#decoupledPolicyLoss}: the clipped ratio is taken against the
 * proximal policy (the learner's own weights before this update, recomputed in {@code
 * PpoLearner#prepare}), and the behaviour log-probs the actor sent only enter a truncated
 * importance weight π_prox/π_behav ≤ c̄. Chosen over IMPALA's V-trace because PPO's trust region
 * then stays anchored to weights the learner holds, whatever version sampled the data, and with lag
 * 0 it reduces exactly to PPO (weight 1), so the synchronous loop equals the in-process stage.
 *
 * <p>Exactly-once (the Flink pattern): every update's checkpoint holds, atomically with weights,
 * optimizer, policy version and random state, the rollout offsets to read again from per partition
 * (rollouts held for later batches included), the {@link RolloutLedger} of consumed rollout ids and
 * the run's figures so far ({@link StreamStats}); a restarted learner seeks to those offsets, skips
 * ids in the ledger and counts on from those figures. Weights are published only after the
 * checkpoint that holds them, so no actor ever samples with a version a restarted learner does not
 * have.
 *
 * <p>One learner per cluster: every publish is a Kafka transaction of the {@link
 * TransactionalProducer} whose id every learner shares, so a learner that starts producing fences
 * any other; so it first checks that the cluster is its run's (a new run: no weights yet; a resumed
 * one: no other run's prompts after its own).
 *
 * <p>Every network wait has a timeout and says what it waits for while it waits.
 */
public final class KafkaRollouts implements RolloutSource {
  private static final Duration POLL = Duration.ofMillis(500);
  private static final String CLIENT_ID = "learner";

  /** The {@link AppliedIdLog} of the rollouts applied, beside the checkpoints. */
  static final String APPLIED_FILE = "applied-rollouts.txt";

  private static final Duration WAIT_LOG = Duration.ofSeconds(30);
  private static final int MISSING_PRINTED = 8;
  private static final AvroCodec<io.streamrlhf.schemas.Rollout> ROLLOUTS =
      AvroCodec.of(io.streamrlhf.schemas.Rollout.class);

  /**
   * @param kafka the Kafka cluster and how to authenticate to it
   * @param rolloutWait how long to wait for the rollouts of one batch before giving up
   * @param kafkaTimeout every single broker round trip (publishes, offset look-ups)
   * @param signer signs every published policy version; null: the key pair in the output directory
   *     ({@link SigningKeys#inDirectory}, created on the first run, reused on resume)
   * @param weightStore where each policy version's bytes go, the topic carrying a signed pointer to
   *     them ({@link WeightStore}); null: the bytes travel on the topic
   */
  public record Settings(
      KafkaAccess kafka,
      Duration rolloutWait,
      Duration kafkaTimeout,
      WeightSigner signer,
      WeightStore weightStore) {
    public Settings(
        KafkaAccess kafka, Duration rolloutWait, Duration kafkaTimeout, WeightSigner signer) {
      this(kafka, rolloutWait, kafkaTimeout, signer, null);
    }

    public static Settings of(String bootstrapServers) {
      return of(KafkaAccess.plaintext(bootstrapServers));
    }

    public static Settings of(KafkaAccess kafka) {
      return new Settings(kafka, Duration.ofMinutes(10), Duration.ofSeconds(60), null);
    }

    public Settings withWeightStore(WeightStore store) {
      return new Settings(kafka, rolloutWait, kafkaTimeout, signer, store);
    }
  }

  /**
   * What the checkpoint holds for this source: the run's id, the rollout offsets to resume from,
   * the ledger of consumed rollouts, how much of the applied-rollout log the checkpoint counts, how
   * far each partition had been read (what a resumed learner reads again is not counted again), the
   * end of this run's prompts on {@code rlhf.prompts}, the prompts of open batches asked again and
   * for which policy version at least, and the run's figures so far.
   */
  record State(
      String runId,
      Map<Integer, Long> offsets,
      JsonNode ledger,
      long appliedLogBytes,
      long appliedCount,
      Map<Integer, Long> readTo,
      Map<Integer, Long> promptEnds,
      Map<String, Long> askedAgain,
      StreamStats.Saved stats) {

    /** The state in {@code node}, written by this version or by one before the later fields. */
    static State read(JsonNode node) throws IOException {
      var fields = (ObjectNode) node.deepCopy();
      if (!fields.has("read_to")) fields.putObject("read_to");
      if (!fields.has("prompt_ends")) fields.putObject("prompt_ends");
      // from before asks were kept: a stale rollout read again has its prompt asked again
      if (!fields.has("asked_again")) fields.putObject("asked_again");
      if (!fields.has("stats"))
        fields.set("stats", Json.MAPPER.valueToTree(new StreamStats().saved(0)));
      // a checkpoint from before the idle accounts: nothing counted yet
      var stats = (ObjectNode) fields.get("stats");
      stats.putIfAbsent("learner_idle_seconds", Json.MAPPER.getNodeFactory().numberNode(0.0));
      stats.putIfAbsent("learner_window_seconds", Json.MAPPER.getNodeFactory().numberNode(0.0));
      stats.putIfAbsent("actors", Json.MAPPER.createObjectNode());
      // from before token lags were kept: the resumed process counts its own
      stats.putIfAbsent("token_lag_counts", Json.MAPPER.createObjectNode());
      return Json.MAPPER.treeToValue(fields, State.class);
    }
  }

  private final PpoConfig config;
  private final Settings settings;
  private final Path outDir;
  private final PrintWriter out;
  private final GptConfig modelConfig;

  /** How rollouts must be sampled and scored ({@link #actorTerms}), stated on every version. */
  private final Map<String, String> terms;

  private final List<TopicPartition> partitions = new ArrayList<>();
  private final KafkaConsumer<byte[], byte[]> consumer;

  /**
   * Per prompt of an open batch asked again, the policy version it was asked for at least: this
   * process's asks and those of the checkpoint resumed from.
   */
  private final Map<String, Long> askedAgain = new HashMap<>();

  /** The asks the checkpoint resumed from holds: what earlier processes asked. */
  private Map<String, Long> askedBefore = Map.of();

  private StreamStats stats = new StreamStats();
  private TransactionalProducer producer;
  private DecodingConsumer<io.streamrlhf.schemas.Rollout> rollouts;
  private final WeightSigner signer;
  private WeightPublisher weights;
  private AppliedIdLog applied;
  private String run;
  private RolloutLedger ledger;
  private BatchAssembly<io.streamrlhf.schemas.Rollout> assembly;
  private Map<Integer, Long> readTo = Map.of();
  private PromptFeed feed;

  private KafkaRollouts(
      PpoConfig config,
      Settings settings,
      Path outDir,
      PrintWriter out,
      GptConfig modelConfig,
      Map<String, String> terms) {
    this.terms = terms;
    this.config = config;
    this.settings = settings;
    this.outDir = outDir;
    this.out = out;
    this.modelConfig = modelConfig;
    for (int p = 0; p < Topics.ROLLOUT_PARTITIONS; p++)
      partitions.add(new TopicPartition(Topics.ROLLOUTS, p));
    consumer =
        new KafkaConsumer<>(
            KafkaClientConfigs.groupConsumer(settings.kafka(), "rlhf-learner", CLIENT_ID));
    signer = settings.signer() != null ? settings.signer() : SigningKeys.inDirectory(outDir);
    out.printf(
        "learner: signing policy versions with key %s%s%n",
        signer.keyId(),
        settings.signer() != null
            ? ""
            : " (actors verify with " + outDir.resolve(SigningKeys.PUBLIC_FILE) + ")");
    // manual assignment: the learner owns every rollout partition and seeks to its own offsets
    consumer.assign(partitions);
  }

  /**
   * The learner of the streaming loop: runs (or, when {@code outDir} holds its checkpoint, resumes)
   * {@link PpoLoop} over the rollouts on Kafka until {@code updates}; returns the stream's figures
   * (of the whole run, across restarts), also written to {@code stream-stats.json}.
   */
  public static StreamStats.Summary learn(
      PpoConfig config, Settings settings, Path sftDir, Path rmDir, Path outDir, PrintWriter out)
      throws IOException {
    var terms = actorTerms(config, sftDir, rmDir);
    var source = new KafkaRollouts[1];
    PpoLoop.run(
        config,
        sftDir,
        rmDir,
        outDir,
        Checkpoint.exists(outDir),
        out,
        models -> {
          source[0] =
              new KafkaRollouts(config, settings, outDir, out, models.policy().config(), terms);
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

  /**
   * How a learner's rollouts must be sampled and scored, as its policy versions state it and an
   * actor's must match: the reward source, the SHA-256 of the SFT reference's weights and, with
   * reward source {@code model}, the reward model's, responses per prompt and sampling temperature,
   * by their {@link PublishedWeights} meta keys.
   */
  public static Map<String, String> actorTerms(PpoConfig config, Path sftDir, Path rmDir)
      throws IOException {
    var reward = config.reward();
    var terms = new HashMap<String, String>();
    terms.put(PublishedWeights.META_REWARD_SOURCE, reward);
    terms.put(
        PublishedWeights.META_RESPONSES_PER_PROMPT, Integer.toString(config.responsesPerPrompt()));
    terms.put(
        PublishedWeights.META_SAMPLING_TEMPERATURE, Double.toString(config.samplingTemperature()));
    terms.put(PublishedWeights.META_REFERENCE_SHA256, Checkpoint.weightsSha256(sftDir));
    if (PpoConfig.REWARD_MODEL.equals(reward))
      terms.put(PublishedWeights.META_REWARD_MODEL_SHA256, Checkpoint.weightsSha256(rmDir));
    return Map.copyOf(terms);
  }

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
    if (saved != null) return resume(saved);
    if (newestPolicyChunk() != null) {
      // actors only ever move to newer versions: a new run's v0 would be ignored next to an old
      // run's vN
      throw new InputError(
          Topics.POLICY_WEIGHTS
              + " on "
              + settings.kafka()
              + " already holds an earlier run's weights and "
              + outDir
              + " holds no checkpoint to resume: resume"
              + " that run with its --out, or start on a fresh cluster (or delete the rlhf.* topics)");
    }
    // tells this run's prompts and rollouts from an earlier run's on the same topics: the time, and
    // bits for two started in the same millisecond
    run = RunIds.next("r");
    startProducing();
    // fencing completed every transaction of an earlier learner: one that published while this
    // one started is visible now, and actors would mix its versions with this run's
    if (newestPolicyChunk() != null) {
      throw new InputError(
          "another learner published on "
              + Topics.POLICY_WEIGHTS
              + " while this one started (it is fenced now and stops): start one learner per"
              + " cluster, or resume that run with its --out");
    }
    ledger = new RolloutLedger(config.promptsPerBatch(), config.responsesPerPrompt());
    assembly = new BatchAssembly<>(ledger, config.promptsPerBatch(), config.responsesPerPrompt());
    // rollouts already on the topic belong to earlier runs: start at the end
    var ends = consumer.endOffsets(partitions, settings.kafkaTimeout());
    for (var tp : partitions) consumer.seek(tp, ends.get(tp));
    feed =
        new PromptFeed(
            producer.producer(), run, config.seed(), config.promptsPerBatch(), 0, Map.of());
    java.nio.file.Files.createDirectories(outDir);
    applied = AppliedIdLog.create(outDir.resolve(APPLIED_FILE));
    return "run "
        + run
        + " starts from the SFT model, value head zeroed; rollout offsets "
        + ends.values();
  }

  private String resume(Checkpoint.Saved<TrainState> saved) throws IOException {
    var node = saved.state().extra().get(PpoLoop.SOURCE_STATE);
    if (node == null) {
      throw new InputError(
          outDir
              + " holds a PPO checkpoint of the in-process stage (no Kafka offsets"
              + " to resume from): choose another --out");
    }
    var state = State.read(node);
    run = state.runId();
    // everything the resume reads is read (and the applied-id log cut back to the checkpoint, as
    // every resume does) before it fences the learner at work: a damaged copy of the run must not
    // stop a healthy one
    stats = StreamStats.resume(state.stats());
    ledger =
        RolloutLedger.fromJson(
            state.ledger(), config.promptsPerBatch(), config.responsesPerPrompt());
    assembly = new BatchAssembly<>(ledger, config.promptsPerBatch(), config.responsesPerPrompt());
    applied =
        AppliedIdLog.resume(
            outDir.resolve(APPLIED_FILE), state.appliedLogBytes(), state.appliedCount());
    // starting to produce fences whatever learner is at work on the cluster: it must be this run's
    refuseIfAnotherRun(state.promptEnds(), false);
    startProducing(); // fences the learner this one replaces, wherever it runs
    // and once more: fencing completed every transaction of a learner that published meanwhile
    refuseIfAnotherRun(state.promptEnds(), true);
    readTo = new TreeMap<>(state.readTo());
    askedBefore = Map.copyOf(state.askedAgain());
    askedAgain.putAll(askedBefore);
    var offsets = new TreeMap<>(state.offsets());
    // A partition that ends before the checkpoint's offset lost this run's rollouts (a new cluster,
    // such as the embedded broker of every ppo process, or a recreated topic): all it holds was
    // written after this process started, so it is read from its beginning. Seeking to the old
    // offset skipped the first rollouts of the new cluster, and the learner waited for them
    // forever.
    var ends = consumer.endOffsets(partitions, settings.kafkaTimeout());
    var fromBeginning = new ArrayList<TopicPartition>();
    for (var tp : partitions) {
      long offset = offsets.getOrDefault(tp.partition(), 0L);
      if (ends.get(tp) < offset) {
        fromBeginning.add(tp);
        readTo.remove(tp.partition()); // no rollout there has been read before
      } else {
        consumer.seek(tp, offset);
      }
    }
    // an empty list is Kafka's "every assigned partition": a resume read all rollouts again
    if (!fromBeginning.isEmpty()) consumer.seekToBeginning(fromBeginning);
    var reading = new java.util.TreeMap<Integer, Long>(); // where the consumer stands, as said
    for (var tp : partitions)
      reading.put(tp.partition(), consumer.position(tp, settings.kafkaTimeout()));
    long published = saved.state().dataPosition();
    var where =
        "resumed run "
            + run
            + " from "
            + outDir
            + "; rollout offsets "
            + reading
            + (fromBeginning.isEmpty()
                ? ""
                : " (partitions "
                    + fromBeginning.stream().map(TopicPartition::partition).toList()
                    + " end before them, a new cluster's: read from their beginning)")
            + "; ";
    var lost = lostPrompts(state.promptEnds());
    if (lost == null || ledger.firstOpenBatch() >= published) {
      // the prompts in flight are on the topic: actors answer them, or answered them already and
      // their rollouts are on the topic after the offsets above
      feed =
          new PromptFeed(
              producer.producer(),
              run,
              config.seed(),
              config.promptsPerBatch(),
              published,
              state.promptEnds());
      return where
          + (ledger.firstOpenBatch() >= published
              ? "no prompt batch in flight"
              : "prompt batches "
                  + ledger.firstOpenBatch()
                  + ".."
                  + (published - 1)
                  + " in flight, still on "
                  + Topics.PROMPTS);
    }
    // the broker lost prompts in flight (a new cluster, a recreated topic): publish them again;
    // rollouts answering a prompt twice carry the same ids, and the ledger applies one of them
    var again =
        new PromptFeed(
            producer.producer(),
            run,
            config.seed(),
            config.promptsPerBatch(),
            ledger.firstOpenBatch(),
            Map.of());
    while (again.nextBatch() < published) {
      long min = Math.max(0, again.nextBatch() - config.maxLag());
      producer.inTransaction(
          "prompt batch " + again.nextBatch(),
          () -> again.publishNext(min, settings.kafkaTimeout()));
    }
    feed =
        new PromptFeed(
            producer.producer(),
            run,
            config.seed(),
            config.promptsPerBatch(),
            published,
            again.ends());
    return where
        + lost
        + ": prompt batches "
        + ledger.firstOpenBatch()
        + ".."
        + (published - 1)
        + " published again";
  }

  /**
   * Refuses a resume when another run's learner publishes on the cluster: the newest policy version
   * names another run (versions of older builds name none), or a prompt after this run's last one
   * is another run's. A zombie of this run, or a copy of its directory, is this run.
   */
  private void refuseIfAnotherRun(Map<Integer, Long> promptEnds, boolean fenced) {
    String where;
    var newest = newestPolicyChunk();
    Object newestRun = newest == null ? null : newest.getMeta().get(PublishedWeights.META_RUN);
    if (newestRun != null && !newestRun.toString().equals(run)) {
      where =
          Topics.POLICY_WEIGHTS
              + " on "
              + settings.kafka()
              + ": its newest policy, v"
              + newest.getVersion()
              + ", is run "
              + newestRun
              + "'s, not this run's ("
              + run
              + ")";
    } else {
      // a checkpoint written before the run's first prompts names no prompt end: nothing to check
      var other = otherRunAfterThisOne(promptEnds);
      if (other == null) return;
      where =
          Topics.PROMPTS
              + " on "
              + settings.kafka()
              + " holds prompts of run "
              + other
              + " after this run's ("
              + run
              + ")";
    }
    throw new InputError(
        where
            + ": another run uses this cluster, and "
            + (fenced
                ? "resuming here fenced its learner as it published (it stops now)"
                : "resuming here would stop its learner")
            + "; resume this run on the cluster it ran on (or one of its own)");
  }

  /**
   * Why the prompts this run published may be gone from {@code rlhf.prompts} (a partition ends
   * before the prompts the checkpoint counts), or null when they are all there.
   */
  private String lostPrompts(Map<Integer, Long> promptEnds) {
    if (promptEnds.isEmpty()) return "the checkpoint does not say where its prompts end";
    var prompts = new ArrayList<TopicPartition>();
    for (int p : promptEnds.keySet()) prompts.add(new TopicPartition(Topics.PROMPTS, p));
    var ends = consumer.endOffsets(prompts, settings.kafkaTimeout());
    for (var tp : prompts) {
      long end = ends.getOrDefault(tp, 0L);
      if (end < promptEnds.get(tp.partition())) {
        return tp
            + " ends at "
            + end
            + ", before this run's prompts ("
            + promptEnds.get(tp.partition())
            + ")";
      }
    }
    return null;
  }

  /**
   * The run of a prompt written after this run's last one ({@code promptEnds}, per partition), if
   * it is another run's: null when there is none (a zombie of this run may have written more of its
   * own). A partition that ends before them lost them ({@link #lostPrompts}): all it holds came
   * after, and is read from its beginning.
   */
  private String otherRunAfterThisOne(Map<Integer, Long> promptEnds) {
    if (promptEnds.isEmpty()) return null;
    var prompts = new ArrayList<TopicPartition>();
    for (int p : promptEnds.keySet()) prompts.add(new TopicPartition(Topics.PROMPTS, p));
    try (var reader =
        new KafkaConsumer<byte[], byte[]>(
            KafkaClientConfigs.weightsConsumer(settings.kafka(), CLIENT_ID + "-prompt-check"))) {
      reader.assign(prompts);
      var ends = reader.endOffsets(prompts, settings.kafkaTimeout());
      var unread = new ArrayList<TopicPartition>();
      for (var tp : prompts) {
        long from = promptEnds.get(tp.partition());
        long end = ends.get(tp);
        if (end > from) reader.seek(tp, from);
        else if (end < from && end > 0) reader.seekToBeginning(List.of(tp));
        else continue;
        unread.add(tp);
      }
      long deadline = System.nanoTime() + settings.kafkaTimeout().toNanos();
      while (!unread.isEmpty() && System.nanoTime() < deadline) {
        for (var record : reader.poll(Duration.ofMillis(200))) {
          var key = record.key() == null ? "" : new String(record.key(), StandardCharsets.UTF_8);
          var id = PromptId.parse(key);
          if (id.isPresent() && !id.get().run().equals(run)) return id.get().run();
        }
        unread.removeIf(tp -> reader.position(tp, settings.kafkaTimeout()) >= ends.get(tp));
      }
      return null;
    }
  }

  /**
   * The newest policy chunk committed on the weight topic, or null when it holds none (records of
   * aborted transactions, which take offsets too, do not count).
   */
  private WeightChunk newestPolicyChunk() {
    return NewestChunk.on(
        settings.kafka(),
        Topics.POLICY_WEIGHTS,
        WeightModel.POLICY,
        CLIENT_ID + "-run-check",
        settings.kafkaTimeout());
  }

  /** The learner's transactional producer, and what publishes through it. */
  private void startProducing() {
    producer =
        new TransactionalProducer(
            KafkaClientConfigs.producer(settings.kafka(), CLIENT_ID),
            TransactionalProducer.LEARNER,
            "of run " + run,
            settings.kafkaTimeout());
    rollouts =
        new DecodingConsumer<>(
            consumer,
            ROLLOUTS,
            // a rollout that decodes but the model cannot take is dead-lettered, not batched
            RolloutChecks.forModel(modelConfig),
            producer.producer(),
            CLIENT_ID,
            settings.kafkaTimeout());
    weights = new WeightPublisher(producer.producer(), signer, settings.weightStore());
  }

  @Override
  public RolloutBatch next(long version) {
    return collectBatch(version);
  }

  @Override
  public Position position() {
    stats.updateEnded(System.nanoTime()); // the update is computed; its checkpoint is being written
    var read = new TreeMap<Integer, Long>();
    for (var tp : partitions)
      read.put(tp.partition(), consumer.position(tp, settings.kafkaTimeout()));
    // rollouts held for later batches are read again after a restart: resume from the first
    var offsets = new TreeMap<>(read);
    // what an earlier process read and counted stays counted, even where this one has not read
    // that far again yet
    readTo.forEach((p, offset) -> read.merge(p, offset, Math::max));
    assembly.firstHeldOffsets().forEach((p, offset) -> offsets.merge(p, offset, Math::min));
    try {
      applied.flush(); // the ids on disk before the checkpoint that counts them
    } catch (IOException e) {
      throw new java.io.UncheckedIOException("cannot write " + applied.file(), e);
    }
    var state =
        new State(
            run,
            offsets,
            ledger.toJson(),
            applied.bytes(),
            applied.durableCount(),
            read,
            feed.ends(),
            new TreeMap<>(askedAgain),
            stats.saved(rollouts.deadLettered()));
    return new Position(feed.nextBatch(), null, Json.MAPPER.valueToTree(state));
  }

  /** Publishes the checkpointed weights, then the prompt batches the new version may answer. */
  @Override
  public void checkpointed(io.streamrlhf.model.WeightSnapshot checkpointed) {
    long version = checkpointed.version();
    var meta = new HashMap<>(terms);
    meta.put(PublishedWeights.META_MODEL_CONFIG, modelConfig.toJson());
    meta.put(PublishedWeights.META_RUN, run); // a resume checks the newest version is its run's
    // the SHA-256 the checkpoint computed as it wrote these bytes: not hashed again (the frame,
    // the same bytes, is built here)
    var snapshot =
        new PublishedWeights(
            WeightModel.POLICY, version, checkpointed.encode(), meta, Instant.now());
    int chunks =
        producer.inTransaction(
            "policy v" + version,
            () -> weights.publish(snapshot, checkpointed.encodedSha256(), settings.kafkaTimeout()));
    if (version % config.logEveryUpdates() == 0 || version == config.updates()) {
      out.printf(
          "learner: published policy v%d (%s)%n",
          version,
          settings.weightStore() == null
              ? String.format("%d chunk(s), %d bytes", chunks, snapshot.bytes().length)
              : String.format(
                  "%d bytes in the weight store, a pointer on %s",
                  snapshot.bytes().length, Topics.POLICY_WEIGHTS));
    }
    publishPrompts(version);
    stats.updateEnded(System.nanoTime());
    if (version == config.updates()) summary = stats.summary(rollouts.deadLettered());
  }

  @Override
  public void close() {
    try (consumer;
        var closing = producer) {
      if (summary == null) summary = stats.summary(rollouts == null ? 0 : rollouts.deadLettered());
    }
  }

  /**
   * The rollout ids applied so far by the run checkpointed in {@code dir}, in order (a repeat would
   * show twice).
   */
  public static List<String> appliedRolloutIds(Path dir) throws IOException {
    var state = State.read(Checkpoint.extras(dir).get(PpoLoop.SOURCE_STATE));
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
      producer.inTransaction(
          "prompt batch " + feed.nextBatch(), () -> feed.publishNext(min, settings.kafkaTimeout()));
    }
  }

  /**
   * Reads rollouts until batch {@code version} is complete, holding those of later batches and
   * dropping duplicate, foreign and stale ones (each counted; a stale one's prompt asked again).
   */
  private RolloutBatch collectBatch(long version) {
    long started = System.nanoTime();
    long lastLog = started;
    while (!assembly.complete(version)) {
      // a poll may send dead letters: as every publish of the learner, in a transaction
      var polled = producer.inTransaction("dead letters", () -> rollouts.poll(POLL));
      for (var record : polled) file(record, version);
      long now = System.nanoTime();
      if (assembly.complete(version)) break;
      if (now - started > settings.rolloutWait().toNanos()) {
        throw new IllegalStateException(
            String.format(
                "learner: gave up after %d s waiting for rollouts of update %d (still missing %s);"
                    + " are actors running against %s and consuming %s?",
                settings.rolloutWait().toSeconds(),
                version + 1,
                missing(version),
                settings.kafka(),
                Topics.PROMPTS));
      }
      if (now - lastLog > WAIT_LOG.toNanos()) {
        lastLog = now;
        out.printf(
            "learner: waiting for rollouts of update %d (prompt batch %d): missing %s (%d s)%n",
            version + 1, version, missing(version), (now - started) / 1_000_000_000L);
        out.flush();
      }
    }
    stats.waitedForRollouts(started, System.nanoTime());
    var taken = assembly.take(version);
    askedAgain
        .keySet()
        .removeIf(id -> PromptId.parse(id).map(p -> p.batch() <= version).orElse(true));
    var batch = new ArrayList<Rollout>(taken.size());
    for (var arrival : taken) {
      // negative only for actors ahead of a resumed learner (see BatchAssembly): counted as 0
      stats.applied(Math.max(0, version - arrival.policyVersion()));
      var rollout = toRollout(arrival.rollout());
      // the record's versions filled in: a rollout without them has every token at policyVersion
      stats.appliedTokens(version, rollout.tokenVersions());
      applied.add(arrival.rollout().getRolloutId());
      batch.add(rollout);
    }
    return new RolloutBatch(batch);
  }

  /**
   * Files one rollout read from the topic. One read again after a restart (below the offsets the
   * checkpoint had read to) was counted before: it is not again. Nor, if it was too stale then, is
   * its prompt asked again: it was, for a version newer than this rollout's. But a rollout held
   * then may be too stale now (max_lag lowered on resume): that one is counted and its prompt asked
   * again, or its batch would wait for rollouts no actor is asked for.
   */
  private void file(Decoded.Value<io.streamrlhf.schemas.Rollout> record, long version) {
    var value = record.value();
    boolean again = record.offset() < readTo.getOrDefault(record.partition(), 0L);
    var id = PromptId.parse(value.getPromptId()).filter(p -> p.run().equals(run));
    if (id.isEmpty()) {
      if (!again) stats.foreign();
      return;
    }
    if (!again)
      stats.rolloutRead(
          value.getActorId(),
          value.getStartedAt().toEpochMilli(),
          value.getProducedAt().toEpochMilli());
    var arrival =
        new BatchAssembly.Arrival<>(
            id.get(),
            value.getSampleIndex(),
            value.getPolicyVersion(),
            record.partition(),
            record.offset(),
            value);
    switch (assembly.offer(arrival, version, feed.nextBatch(), config.maxLag())) {
      case TAKEN, HELD -> {}
      case DUPLICATE, AHEAD -> {
        if (!again) stats.duplicate();
      }
      case FOREIGN -> {
        if (!again) stats.foreign();
      }
      case STALE -> {
        var asked = askedBefore.get(id.get().toString());
        boolean staleBefore = again && asked != null && value.getPolicyVersion() < asked;
        if (!staleBefore) stats.droppedStale();
        askAgain(id.get(), value.getPolicyVersion());
      }
    }
  }

  /**
   * Publishes a prompt again whose rollout came back too stale for its batch, unless it was asked
   * again already (by this process or before its checkpoint) for the version it needs now.
   */
  private void askAgain(PromptId id, long policyVersion) {
    long min = Math.max(0, id.batch() - config.maxLag());
    var asked = askedAgain.get(id.toString());
    if (asked != null && asked >= min) return;
    askedAgain.put(id.toString(), min);
    producer.inTransaction(
        "prompt " + id, () -> feed.requestAgain(id, min, settings.kafkaTimeout()));
    stats.requestedAgain();
    out.printf(
        "learner: a rollout of prompt %s sampled by v%d lags its batch by more than max_lag %d:"
            + " prompt asked again for v%d or newer%n",
        id, policyVersion, config.maxLag(), min);
    out.flush();
  }

  private String missing(long version) {
    var missing = assembly.missing(version);
    return missing.size() <= MISSING_PRINTED
        ? String.join(", ", missing)
        : String.join(", ", missing.subList(0, MISSING_PRINTED))
            + " and "
            + (missing.size() - MISSING_PRINTED)
            + " more";
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
        normalisation,
        RolloutRecords.tokenVersions(
            r.getTokenVersions(), r.getResponseTokens().size(), r.getPolicyVersion()));
  }
}
