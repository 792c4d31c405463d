package io.streamrlhf.learner.stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.streamrlhf.learner.config.OnlineRewardConfig;
import io.streamrlhf.learner.reward.HeldOutComparisons;
import io.streamrlhf.learner.reward.OnlineRewardTraining;
import io.streamrlhf.learner.reward.RankedComparison;
import io.streamrlhf.learner.reward.RewardStage;
import io.streamrlhf.learner.train.InputError;
import io.streamrlhf.model.WeightSnapshot;
import io.streamrlhf.model.checkpoint.Checkpoint;
import io.streamrlhf.model.checkpoint.Json;
import io.streamrlhf.schemas.AvroCodec;
import io.streamrlhf.schemas.Comparison;
import io.streamrlhf.schemas.PublishedWeights;
import io.streamrlhf.schemas.RecordChecks;
import io.streamrlhf.schemas.Topics;
import io.streamrlhf.schemas.WeightChunk;
import io.streamrlhf.schemas.WeightModel;
import io.streamrlhf.schemas.signing.SigningKeys;
import io.streamrlhf.schemas.signing.WeightSigner;
import io.streamrlhf.schemas.transport.DecodingConsumer;
import io.streamrlhf.schemas.transport.KafkaAccess;
import io.streamrlhf.schemas.transport.KafkaClientConfigs;
import io.streamrlhf.schemas.transport.WeightPublisher;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;

/**
 * The reward trainer of the live loop (DESIGN.md, "The loop"; issue 19): consumes {@code
 * rlhf.comparisons} continuously, trains the reward model on them ({@link OnlineRewardTraining}:
 * fresh comparisons mixed with a replay of earlier ones, a held-out share measured), and publishes
 * every {@code publish_every_steps} steps a new version on {@code rlhf.reward-weights} through the
 * same chunked path as policies ({@link WeightPublisher}), with the meta actors score and PPO
 * normalises with: the model config, the score's mean and std on SFT samples, and w.
 *
 * <p>Exactly-once (the Flink pattern, as {@link KafkaRollouts}): comparisons are taken in strictly
 * in topic order, so "applied" is a prefix of each partition; every version's checkpoint holds,
 * atomically with weights, optimizer, random stream, replay buffer and held-out set, the offset of
 * the first comparison not yet taken in, and the length of the {@link AppliedIdLog} of comparison
 * ids taken in. A restarted trainer seeks to those offsets and cuts the log back, so comparisons
 * taken in after the last checkpoint are taken in again, once. Weights are published only after the
 * checkpoint that holds them; a resumed trainer publishes its checkpointed version again, in case
 * the crash came between the two.
 *
 * <p>Those who write comparisons deliver at least once: simulated labelers restarted before they
 * committed rank a request again, a gateway whose acknowledgement was lost writes a retry again,
 * each under the first one's comparison id. A usable comparison whose id was taken in (or is read
 * and waiting) is therefore dropped and counted, not trained on twice (an unusable one is skipped
 * again); the ids live in memory for the whole run, about 100 bytes each, restored from the applied
 * log on resume.
 *
 * <p>One reward trainer per cluster, as one learner ({@link TransactionalProducer}): every publish
 * is a transaction under {@code rlhf-reward-trainer}, so a trainer that starts fences the one
 * before it. A new run starts only on an empty reward-weight topic, and checks again once it has
 * fenced; a resume first checks that the topic's newest version is its own run's, and that it signs
 * with the key its run signed with.
 *
 * <p>A new trainer reads the comparisons topic from the beginning: comparisons are kept forever
 * because they are training data, whenever they were given. Every network wait has a timeout and
 * says what it waits for.
 */
public final class RewardTrainer {
  /** Train-state extras key of {@link SourceState}. */
  static final String SOURCE_STATE = "comparisons";

  /** The {@link AppliedIdLog} of comparisons taken in (trained on or held out). */
  static final String APPLIED_FILE = "applied-comparisons.txt";

  /** Held-out accuracy and labeler agreement over time, one row per published version. */
  public static final String ACCURACY_CSV = "accuracy.csv";

  static final String CSV_HEADER =
      "time,seconds,comparisons_seen,version,held_out_accuracy,labeler_agreement,oracle_accuracy,"
          + "rm_vs_oracle,held_out_pairs,agreement_pairs,likelihood_weight,reward_mean,reward_std";

  private static final Duration POLL = Duration.ofMillis(200);
  private static final Duration WAIT_LOG = Duration.ofSeconds(30);

  /** How long the waiting line's question to the broker waits for an answer. */
  private static final Duration PROBE = Duration.ofSeconds(5);

  private static final int SKIPS_PRINTED = 20;
  private static final AvroCodec<Comparison> COMPARISONS = AvroCodec.of(Comparison.class);

  /**
   * @param kafka the Kafka cluster and how to authenticate to it
   * @param kafkaTimeout every single broker round trip (publishes, offset look-ups)
   * @param maxComparisons stop once this many comparisons were taken in (across restarts)
   * @param untilVersion stop once a version at least this high is published
   * @param signer signs every published reward-model version; null: the key pair in the output
   *     directory ({@link SigningKeys#inDirectory}, created on the first run, reused on resume)
   */
  public record Settings(
      KafkaAccess kafka,
      Duration kafkaTimeout,
      long maxComparisons,
      long untilVersion,
      WeightSigner signer,
      Duration waitingLineEvery,
      Intake intake) {
    public static Settings of(String bootstrapServers) {
      return of(KafkaAccess.plaintext(bootstrapServers));
    }

    public static Settings of(KafkaAccess kafka) {
      return new Settings(
          kafka,
          Duration.ofSeconds(60),
          Long.MAX_VALUE,
          Long.MAX_VALUE,
          null,
          WAIT_LOG,
          Intake.NONE);
    }

    public Settings withLimits(long maxComparisons, long untilVersion) {
      return new Settings(
          kafka, kafkaTimeout, maxComparisons, untilVersion, signer, waitingLineEvery, intake);
    }

    public Settings withSigner(WeightSigner s) {
      return new Settings(
          kafka, kafkaTimeout, maxComparisons, untilVersion, s, waitingLineEvery, intake);
    }

    /** How often a trainer with nothing to take in says what it waits for (30 s). */
    public Settings withWaitingLineEvery(Duration every) {
      return new Settings(kafka, kafkaTimeout, maxComparisons, untilVersion, signer, every, intake);
    }

    /** Tells {@code listener} what the trainer takes in and publishes, as it does. */
    public Settings withIntake(Intake listener) {
      return new Settings(
          kafka, kafkaTimeout, maxComparisons, untilVersion, signer, waitingLineEvery, listener);
    }
  }

  /**
   * What a trainer takes in and publishes, told on its own thread as it happens: enough to time
   * each ranking's way into a published version without reading the topic again.
   */
  public interface Intake {
    Intake NONE =
        new Intake() {
          @Override
          public void taken(long createdAtMillis) {}

          @Override
          public void published(long version, long seen) {}
        };

    /**
     * The next comparison in the order taken in: its creation time (epoch ms), or -1 for one no
     * version trains on (skipped as unusable, or held out). The n-th call of a new run's trainer is
     * the comparison a version with {@code seen >= n} saw; a resumed one's {@code seen} counts on
     * from its checkpoint.
     */
    void taken(long createdAtMillis);

    /** Version {@code version} is published, trained on the first {@code seen} taken in. */
    void published(long version, long seen);

    /**
     * At the trainer's stop: the records on the topic it never took in (read and waiting, or never
     * read; repeats and unusable ones among them), or -1 when it could not count them within 5 s.
     */
    default void untaken(long comparisons) {}
  }

  /**
   * What the checkpoint holds for the stream: per partition, the offset of the first comparison not
   * taken in; how much of the applied-comparison log the checkpoint counts; the run and the key it
   * signs with ("" in checkpoints of older builds, which did not record them).
   */
  record SourceState(
      Map<Integer, Long> offsets,
      long appliedLogBytes,
      long appliedCount,
      String run,
      String signingKey) {
    static SourceState read(JsonNode node) throws IOException {
      if (node == null || !node.isObject()) {
        throw new Checkpoint.CorruptCheckpointException(
            "the reward trainer's stream state in the checkpoint is not an object: " + node);
      }
      var fields = (ObjectNode) node.deepCopy();
      for (var key : List.of("run", "signing_key"))
        if (!fields.hasNonNull(key)) fields.put(key, "");
      return Json.MAPPER.treeToValue(fields, SourceState.class);
    }
  }

  /**
   * What a run did, when it stopped; {@code duplicates} are the repeats this process dropped (one
   * read again after a restart counts again).
   */
  public record Summary(
      long seen,
      long trained,
      long heldOut,
      long skipped,
      long duplicates,
      long version,
      long deadLettered,
      long untaken) {}

  /** A comparison read but not yet taken in. */
  private record Pending(
      String id,
      RankedComparison comparison,
      String unusable,
      boolean heldOut,
      int partition,
      long offset,
      long readAtNanos,
      long createdAtMillis) {}

  private final OnlineRewardConfig config;
  private final Settings settings;
  private final Path sftDir;
  private final Path rmDir;
  private final Path outDir;
  private final boolean resume;
  private final PrintWriter out;
  private final String name;
  private final ArrayDeque<Pending> pending = new ArrayDeque<>();

  /** Ids of the usable comparisons taken in or pending: a repeat of one is dropped. */
  private final Set<String> known = new HashSet<>();

  private final CountDownLatch finished = new CountDownLatch(1);
  private final CompletableFuture<Long> firstPublished = new CompletableFuture<>();
  private volatile boolean stopping;
  private volatile boolean finishing;
  private volatile boolean halting;

  /** Per partition, the end of the topic when {@link #finish} was asked: what it takes in. */
  private Map<TopicPartition, Long> finishAt;

  private List<TopicPartition> partitions;
  private OnlineRewardTraining training;
  private AppliedIdLog applied;
  private WeightSigner signer;
  private TransactionalProducer producer;
  private DecodingConsumer<Comparison> comparisons;
  private WeightPublisher publisher;
  private KafkaConsumer<byte[], byte[]> consumer;
  private long publishedVersion = -1;
  private long checkpointedSeen;
  private long checkpointedSteps;
  private int skipsPrinted;
  private long duplicates;
  private String run;

  /**
   * @param rmDir the offline reward model to start from, or null for a cold start from SFT
   * @param resume continue the run checkpointed in {@code outDir}
   */
  public RewardTrainer(
      OnlineRewardConfig config,
      Settings settings,
      Path sftDir,
      Path rmDir,
      Path outDir,
      boolean resume,
      PrintWriter out) {
    this.config = config;
    this.settings = settings;
    this.sftDir = sftDir;
    this.rmDir = rmDir;
    this.outDir = outDir;
    this.resume = resume;
    this.out = out;
    this.name = config.stageName();
  }

  /** Asks a running trainer to stop after the step it is in (SIGTERM); it checkpoints first. */
  public void stop() {
    stopping = true;
  }

  /**
   * {@link #stop} for a process that is exiting, whose broker may be closing too: the trainer
   * checkpoints what it learned but publishes nothing more (a resume publishes the checkpointed
   * version) and does not count what is left on the topic, so it ends in seconds rather than
   * waiting on a broker that is gone.
   */
  public void halt() {
    halting = true;
    stopping = true;
  }

  /**
   * Asks a running trainer to take in every comparison on the topic now (those read and waiting,
   * and the rest up to the topic's end), in steps as large as {@code catch_up_factor} allows and
   * without waiting for a trickle to fill a step, then to stop as {@link #stop} does: what a run
   * whose labelers stopped asks, so no ranking they gave ends untrained. {@link #stop} still ends
   * it after its current step.
   */
  public void finish() {
    finishing = true;
  }

  /**
   * Completes with the first version this run publishes (v0 of a new run, the checkpointed one of a
   * resumed run), or exceptionally with what ended {@link #run} before it did: what a caller waits
   * for before it starts actors that score only with published versions.
   */
  public CompletableFuture<Long> firstPublished() {
    return firstPublished;
  }

  /** Waits until {@link #run} has returned or thrown; false on timeout. */
  public boolean awaitFinished(Duration timeout) throws InterruptedException {
    return finished.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  /**
   * Trains until {@link #stop}, {@code max_comparisons} or {@code until_version}; then checkpoints
   * (and publishes, when it stepped since the last version) what it took in.
   */
  public Summary run() throws IOException {
    try (var kafkaConsumer =
        new KafkaConsumer<byte[], byte[]>(
            KafkaClientConfigs.groupConsumer(settings.kafka(), "rlhf-" + name, name))) {
      consumer = kafkaConsumer;
      var source = resume ? savedSource() : null;
      signer = signer(source);
      out.printf(
          "%s: signing reward-model versions with key %s%s%n",
          name,
          signer.keyId(),
          settings.signer() != null
              ? ""
              : " (actors verify with " + outDir.resolve(SigningKeys.PUBLIC_FILE) + ")");
      partitions =
          consumer.partitionsFor(Topics.COMPARISONS, settings.kafkaTimeout()).stream()
              .map(p -> new TopicPartition(p.topic(), p.partition()))
              .toList();
      if (partitions.isEmpty()) {
        throw new InputError(
            Topics.COMPARISONS
                + " does not exist on "
                + settings.kafka()
                + ": provision the loop's topics (rlhf broker does)");
      }
      // manual assignment: the trainer owns every partition and seeks to its own offsets
      consumer.assign(partitions);
      try {
        if (resume) resumeRun(source);
        else startRun();
        loop();
        if (training.seen() != checkpointedSeen || training.steps() != checkpointedSteps) {
          if (training.steps() != publishedVersion) {
            publishVersion();
          } else {
            checkpoint(); // held-out comparisons taken in without a step: no new weights
          }
        }
        // counted after the checkpoint, whose offsets stay where the trainer stopped taking in
        long untaken = halting ? -1 : untaken();
        settings.intake().untaken(untaken);
        out.printf(
            "%s: stopped after %d comparisons (%d trained on, %d held out, %d skipped), %s;"
                + " %d repeated comparison(s) dropped%s%n",
            name,
            training.seen(),
            training.trained(),
            training.heldOut(),
            training.skippedCount(),
            publishedVersion < 0 ? "no version published" : "RM v" + publishedVersion,
            duplicates,
            untaken > 0
                ? "; " + untaken + " more record(s) on " + Topics.COMPARISONS + " not taken in"
                : "");
        out.flush();
        return new Summary(
            training.seen(),
            training.trained(),
            training.heldOut(),
            training.skippedCount(),
            duplicates,
            publishedVersion,
            comparisons.deadLettered(),
            untaken);
      } finally {
        try (var closing = producer) {
          if (training != null) training.close();
        }
      }
    } catch (IOException | RuntimeException | Error e) {
      firstPublished.completeExceptionally(e); // no effect once a version is out
      throw e;
    } finally {
      firstPublished.completeExceptionally(
          new IllegalStateException("the reward trainer stopped before publishing a version"));
      finished.countDown();
    }
  }

  /**
   * Refuses a new run on a cluster whose reward-model topic already holds versions: actors only
   * ever move to newer versions, so a new run's v0 would be ignored next to an old run's vN. The
   * command asks before it writes anything to {@code outDir}; {@link #run} asks again.
   */
  public static void requireNoEarlierRun(KafkaAccess kafka, Path outDir, Duration timeout) {
    if (NewestChunk.on(
            kafka, Topics.REWARD_WEIGHTS, WeightModel.REWARD, "reward-trainer-run-check", timeout)
        != null) {
      throw new InputError(
          Topics.REWARD_WEIGHTS
              + " on "
              + kafka
              + " already holds an earlier run's reward models and "
              + outDir
              + " holds no checkpoint to resume: resume that run with its --out, or start on a fresh"
              + " cluster (or delete the rlhf.* topics)");
    }
  }

  private void startRun() throws IOException {
    requireNoEarlierRun(settings.kafka(), outDir, settings.kafkaTimeout());
    // which run published a version (a resume checks it): the time, and bits for two started in
    // the same millisecond
    run = RunIds.next("rt");
    startProducing();
    // fencing completed every transaction of an earlier trainer: one that published while this
    // one started is visible now, and would be mixed with this run's versions
    if (newestRewardChunk() != null) {
      throw new InputError(
          "another reward trainer published on "
              + Topics.REWARD_WEIGHTS
              + " while this one started (it is fenced now and stops): start one reward trainer"
              + " per cluster, or resume that run with its --out");
    }
    training = OnlineRewardTraining.start(config, sftDir, rmDir, outDir, out);
    applied = AppliedIdLog.create(outDir.resolve(APPLIED_FILE));
    Files.writeString(outDir.resolve(ACCURACY_CSV), CSV_HEADER + "\n", StandardCharsets.UTF_8);
    // comparisons are training data, kept forever: a new trainer learns from all of them
    consumer.seekToBeginning(partitions);
    out.printf(
        "%s: new run in %s, reading %s from the beginning (%d partition(s))%n",
        name, outDir, Topics.COMPARISONS, partitions.size());
    // halted as it started (the process exits): nothing learned, nothing to keep, and the
    // checkpoint's offsets would wait on a broker that closes with the process
    if (halting) return;
    publishVersion(); // v0, so actors can score before the first comparison arrives
  }

  /** The stream state of the run checkpointed in {@code --out}. */
  private SourceState savedSource() throws IOException {
    var node = Checkpoint.extras(outDir).get(SOURCE_STATE);
    if (node == null) {
      throw new InputError(
          outDir
              + " holds no reward-trainer checkpoint (no comparison offsets): choose another --out");
    }
    return SourceState.read(node);
  }

  /**
   * The signer of {@code --signing-key}, else the key pair in {@code --out}; a resume's must be the
   * one its run signed with, which its actors verify with.
   */
  private WeightSigner signer(SourceState source) {
    // older builds' checkpoints name no key: their versions' key is checked on the topic
    var recorded = source == null || source.signingKey().isEmpty() ? null : source.signingKey();
    if (source != null
        && settings.signer() == null
        && !Files.exists(outDir.resolve(SigningKeys.PRIVATE_FILE))) {
      // a resume never makes a key: its run signed with one its actors verify
      throw new InputError(wrongKey(recorded, "no --signing-key and no key pair in " + outDir));
    }
    var chosen = settings.signer() != null ? settings.signer() : SigningKeys.inDirectory(outDir);
    if (recorded != null && !recorded.equals(chosen.keyId())) {
      throw new InputError(wrongKey(recorded, "key " + chosen.keyId()));
    }
    return chosen;
  }

  private String wrongKey(String recorded, String given) {
    return String.format(
        "the run in %s signed its reward models with %s, which its actors verify; this resume has"
            + " %s: resume with the same --signing-key (or the key pair the run created in --out)",
        outDir, recorded == null ? "a key its checkpoint does not name" : "key " + recorded, given);
  }

  private void resumeRun(SourceState source) throws IOException {
    run = source.run().isEmpty() ? null : source.run();
    // everything the resume reads is checked before it fences the trainer at work
    var resumed = OnlineRewardTraining.resume(config, sftDir, outDir, out);
    training = resumed;
    applied =
        AppliedIdLog.resume(
            outDir.resolve(APPLIED_FILE), source.appliedLogBytes(), source.appliedCount());
    known.addAll(
        AppliedIdLog.read(
            outDir.resolve(APPLIED_FILE), source.appliedLogBytes(), source.appliedCount()));
    var offsets = new TreeMap<>(source.offsets());
    for (var tp : partitions) consumer.seek(tp, offsets.getOrDefault(tp.partition(), 0L));
    checkpointedSeen = resumed.seen();
    checkpointedSteps = resumed.steps();
    out.printf(
        "%s: resumed at step %d from %s; comparison offsets %s; %d comparisons taken in (%d trained"
            + " on, %d held out, %d skipped); replay buffer %d%n",
        name,
        resumed.steps(),
        outDir,
        offsets,
        resumed.seen(),
        resumed.trained(),
        resumed.heldOut(),
        resumed.skippedCount(),
        resumed.replaySize());
    refuseIfAnotherRunPublishes(false);
    startProducing();
    // and once more: fencing completed every transaction of whoever published meanwhile
    refuseIfAnotherRunPublishes(true);
    // the crash may have come between the checkpoint and its publication: publish it again (a
    // reader that has it ignores a version it already holds)
    publish(resumed.version(), resumed.model().snapshot(resumed.steps()));
  }

  /**
   * The transactional producer: from here on an earlier reward trainer on the cluster (a zombie of
   * this run, or the first of two new runs started together) is fenced, and stops at its next
   * publish.
   */
  private void startProducing() {
    producer =
        new TransactionalProducer(
            KafkaClientConfigs.producer(settings.kafka(), name),
            TransactionalProducer.REWARD_TRAINER,
            "writing " + outDir,
            settings.kafkaTimeout());
    comparisons =
        new DecodingConsumer<>(
            consumer,
            COMPARISONS,
            RecordChecks.COMPARISON,
            producer.producer(),
            name,
            settings.kafkaTimeout());
    publisher = new WeightPublisher(producer.producer(), signer);
  }

  /**
   * A resume would fence the reward trainer at work: refuses when the newest reward-model version
   * on the topic is another run's: its meta names another run, or a run of this build finds one
   * that names none; between a run of an older build and such a version, whose runs name none, the
   * signing key tells. A zombie of this run, or a copy of its directory, is this run.
   */
  private void refuseIfAnotherRunPublishes(boolean fenced) {
    var newest = newestRewardChunk();
    if (newest == null) return;
    var meta = newest.getMeta();
    var theirRun = meta.get(PublishedWeights.META_RUN);
    var theirKey = meta.get(PublishedWeights.META_SIGNING_KEY);
    // a run of this build names itself in every version; the key tells only between two unnamed
    boolean ours =
        theirRun == null && run == null
            ? signer.keyId().equals(String.valueOf(theirKey))
            : String.valueOf(theirRun).equals(String.valueOf(run));
    if (!ours) {
      throw new InputError(
          String.format(
              "%s on %s: its newest reward model, v%d, is %s, not this run's (%s): another run's"
                  + " reward trainer publishes there, and %s; resume on the cluster this run used,"
                  + " or stop that run first",
              Topics.REWARD_WEIGHTS,
              settings.kafka(),
              newest.getVersion(),
              theirRun != null
                  ? "run " + theirRun + "'s"
                  : run != null
                      ? "a version no run of this build made"
                      : theirKey == null ? "unsigned" : "signed with key " + theirKey,
              run != null ? "run " + run : "key " + signer.keyId(),
              fenced
                  ? "resuming " + outDir + " fenced it as it published (it stops now)"
                  : "resuming " + outDir + " would fence it"));
    }
  }

  /** The newest reward-model chunk committed on the topic, or null when it holds none. */
  private WeightChunk newestRewardChunk() {
    return NewestChunk.on(
        settings.kafka(),
        Topics.REWARD_WEIGHTS,
        WeightModel.REWARD,
        name + "-run-check",
        settings.kafkaTimeout());
  }

  /** What is read and waiting, as far as a step may take it. */
  private record Waiting(long takeable, int fresh, long oldestFreshNanos) {
    /** A step is due: a full one, a trickle that waited long enough, or the run's last ones. */
    boolean stepDue(OnlineRewardConfig config, long seen, long maxComparisons) {
      boolean waitedEnough =
          fresh > 0
              && System.nanoTime() - oldestFreshNanos
                  >= (long) (config.freshWaitSeconds() * 1_000_000_000L);
      return fresh >= config.comparisonsPerStep() || waitedEnough || lastOnes(seen, maxComparisons);
    }

    /** What waits holds the last comparisons the run takes in (max_comparisons). */
    boolean lastOnes(long seen, long maxComparisons) {
      return takeable > 0 && seen + takeable >= maxComparisons;
    }
  }

  private Waiting waiting() {
    long takeable = Math.min(pending.size(), settings.maxComparisons() - training.seen());
    int fresh = 0;
    long oldestFresh = Long.MAX_VALUE;
    int i = 0;
    for (var p : pending) {
      if (i++ >= takeable) break;
      if (p.comparison() != null && !p.heldOut()) {
        fresh++;
        oldestFresh = Math.min(oldestFresh, p.readAtNanos());
      }
    }
    return new Waiting(takeable, fresh, oldestFresh);
  }

  private void loop() {
    long lastProgress = System.nanoTime();
    while (!stopping
        && training.seen() < settings.maxComparisons()
        && publishedVersion < settings.untilVersion()) {
      var waiting = waiting();
      if (finishing) {
        if (finishAt == null) finishAt = topicEnd();
        boolean moreOnTopic = !readUpTo(finishAt);
        if (!moreOnTopic && waiting.takeable() == 0) break;
        // the steps are as full as the rest allows: read on before a step that could be larger
        if (moreOnTopic
            && waiting.fresh() < config.maxFreshPerStep()
            && !waiting.lastOnes(training.seen(), settings.maxComparisons())) {
          read(POLL);
          continue;
        }
        step(waiting);
        continue;
      }
      if (waiting.stepDue(config, training.seen(), settings.maxComparisons())) {
        // a full step is due: whatever else already arrived may join it (catch_up_factor)
        if (waiting.fresh() >= config.comparisonsPerStep()
            && waiting.fresh() < config.maxFreshPerStep()
            && read(Duration.ZERO) > 0) {
          waiting = waiting();
        }
        step(waiting);
        lastProgress = System.nanoTime();
        continue;
      }
      read(POLL);
      if (System.nanoTime() - lastProgress > settings.waitingLineEvery().toNanos()) {
        lastProgress = System.nanoTime();
        out.printf(
            "%s: waiting for comparisons on %s: %s%d read and not yet taken in (%d fresh), %d"
                + " taken in, %d repeats dropped%n",
            name,
            Topics.COMPARISONS,
            unreachable(),
            pending.size(),
            waiting.fresh(),
            training.seen(),
            duplicates);
        out.flush();
      }
    }
  }

  /** One step on what waits, and a version when publish_every_steps steps are due one. */
  private void step(Waiting waiting) {
    takeStep(waiting.takeable(), stepSize(waiting.fresh()));
    if (training.steps() - publishedVersion >= config.publishEverySteps()) publishVersion();
  }

  /** The end of every partition now, said with how much is left to take in. */
  private Map<TopicPartition, Long> topicEnd() {
    var end = consumer.endOffsets(partitions, settings.kafkaTimeout());
    long unread = 0;
    for (var tp : partitions) unread += Math.max(0, end.get(tp) - consumer.position(tp));
    out.printf(
        "%s: taking in what is left before it stops: %d read and waiting, and up to %d more"
            + " record(s) on %s (SIGTERM stops it after its current step)%n",
        name, pending.size(), unread, Topics.COMPARISONS);
    out.flush();
    return end;
  }

  /** Whether every partition has been read up to {@code end}. */
  private boolean readUpTo(Map<TopicPartition, Long> end) {
    for (var tp : partitions) {
      if (consumer.position(tp, settings.kafkaTimeout()) < end.get(tp)) return false;
    }
    return true;
  }

  /**
   * The fresh comparisons the next step takes: {@code comparisons_per_step}, or all of those
   * waiting when more are, up to {@code catch_up_factor} times that; a trainer that keeps up steps
   * as before, one behind spreads each step's and each version's cost over more rankings.
   */
  int stepSize(int freshWaiting) {
    return Math.min(config.maxFreshPerStep(), Math.max(config.comparisonsPerStep(), freshWaiting));
  }

  /**
   * Polls once (waiting up to {@code timeout}) and appends what is usable or unusable to the
   * pending queue; returns how many records were appended (repeats are dropped and counted).
   */
  private int read(Duration timeout) {
    // a poll may send dead letters: as every publish of the trainer, in a transaction
    var polled = producer.inTransaction("dead letters", () -> comparisons.poll(timeout));
    int added = 0;
    for (var value : polled) {
      var c = value.value();
      var checked =
          RankedComparison.check(
              c.getComparisonId(),
              c.getRequestId(),
              c.getLabelerId(),
              c.getPromptText(),
              c.getResponses(),
              c.getRanks(),
              training.contextLength());
      if (checked.comparison() != null && !known.add(c.getComparisonId())) {
        // the same id again: a labeler's or the gateway's retry of one taken in or pending
        if (duplicates++ < SKIPS_PRINTED) {
          out.printf(
              "%s: dropped comparison %s (offset %d): its id was read before, a repeated"
                  + " delivery%n",
              name, c.getComparisonId(), value.offset());
        }
        continue;
      }
      boolean heldOut =
          checked.comparison() != null
              && HeldOutComparisons.isHeldOut(checked.comparison().group(), config.heldOutShare());
      pending.add(
          new Pending(
              c.getComparisonId(),
              checked.comparison(),
              checked.unusable(),
              heldOut,
              value.partition(),
              value.offset(),
              System.nanoTime(),
              c.getCreatedAt().toEpochMilli()));
      added++;
    }
    return added;
  }

  /**
   * The records on the topic not taken in: those read and waiting, and the rest up to the end of
   * the topic now, read (not trained on) to count them, since offsets also count transaction
   * markers; -1 when that takes over {@link #PROBE} (a broker that does not answer, a signal
   * closing it, a backlog too long to read).
   */
  private long untaken() {
    long count = pending.size();
    try {
      var end = consumer.endOffsets(partitions, PROBE);
      long deadline = System.nanoTime() + PROBE.toNanos();
      while (partitions.stream().anyMatch(tp -> consumer.position(tp, PROBE) < end.get(tp))) {
        if (System.nanoTime() > deadline) return -1;
        count += consumer.poll(POLL).count();
      }
      return count;
    } catch (org.apache.kafka.common.KafkaException e) {
      return -1;
    }
  }

  /**
   * "cannot reach Kafka at …; " when the broker does not answer, else "": a poll without a broker
   * returns nothing rather than failing, so an outage would read as a quiet topic (the gateway's
   * feed asks the same way).
   */
  private String unreachable() {
    try {
      consumer.endOffsets(partitions, PROBE);
      return "";
    } catch (org.apache.kafka.common.errors.TimeoutException e) {
      return String.format(
          "cannot reach Kafka at %s (no answer within %d s); ",
          settings.kafka(), PROBE.toSeconds());
    }
  }

  /**
   * Takes pending comparisons in, in topic order, until {@code size} fresh ones (or {@code
   * takeable} in all): unusable ones counted, held-out ones kept, fresh ones trained on.
   */
  private void takeStep(long takeable, int size) {
    var fresh = new ArrayList<RankedComparison>();
    var heldOut = new ArrayList<RankedComparison>();
    long taken = 0;
    while (taken < takeable && fresh.size() < size) {
      var p = pending.poll();
      taken++;
      settings.intake().taken(p.comparison() == null || p.heldOut() ? -1 : p.createdAtMillis());
      if (p.comparison() == null) {
        training.skipped();
        if (skipsPrinted++ < SKIPS_PRINTED) {
          out.printf("%s: skipped comparison %s: %s%n", name, p.id(), p.unusable());
        }
        continue;
      }
      (p.heldOut() ? heldOut : fresh).add(p.comparison());
      applied.add(p.id());
    }
    var step = training.step(fresh, heldOut);
    if (step != null && step.step() % config.logEverySteps() == 0) {
      out.printf(
          Locale.ROOT,
          "%s: step %d  loss %.4f  batch accuracy %.3f (%d fresh + %d replayed, %d pairs)  lr %.2e"
              + "  |g| %.3f  comparisons %d (held out %d, skipped %d)%n",
          name,
          step.step(),
          step.loss(),
          step.batchAccuracy(),
          step.fresh(),
          step.replayed(),
          step.pairs(),
          step.learningRate(),
          step.gradNorm(),
          training.seen(),
          training.heldOut(),
          training.skippedCount());
      out.flush();
    }
  }

  /**
   * The weights as they are become a version: w and the score statistics, the held-out figures, the
   * checkpoint, then (never before) its publication and a row of the accuracy file.
   */
  private void publishVersion() {
    var version = training.prepareVersion();
    var figures = training.evaluate();
    var weights = checkpoint();
    if (halting) {
      out.printf(
          "%s: RM v%d checkpointed in %s, not published: the process is exiting%n",
          name, version.version(), outDir);
      out.flush();
      return;
    }
    publish(version, weights);
    appendAccuracyRow(version, figures);
    settings.intake().published(version.version(), training.seen());
    out.printf(
        Locale.ROOT,
        "%s: RM v%d after %d comparisons: held-out accuracy %s on %d pairs; labeler agreement %s"
            + " (%d pairs); oracle vs labels %s, RM vs oracle %s%n",
        name,
        version.version(),
        training.seen(),
        RewardStage.figure(figures.accuracy()),
        figures.pairs(),
        RewardStage.figure(figures.labelerAgreement()),
        figures.agreementPairs(),
        RewardStage.figure(figures.oracleAccuracy()),
        RewardStage.figure(figures.accuracyVsOracle()));
    out.flush();
  }

  private WeightSnapshot checkpoint() {
    try {
      applied.flush(); // the ids on disk before the checkpoint that counts them
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + applied.file(), e);
    }
    var state =
        new SourceState(
            offsets(),
            applied.bytes(),
            applied.durableCount(),
            run == null ? "" : run,
            signer.keyId());
    var weights = training.checkpoint(SOURCE_STATE, Json.MAPPER.valueToTree(state));
    checkpointedSeen = training.seen();
    checkpointedSteps = training.steps();
    return weights;
  }

  private String sftSha256;

  /** The weights SHA-256 of --sft, read once. */
  private String sftSha256() {
    if (sftSha256 == null) {
      try {
        sftSha256 = Checkpoint.weightsSha256(sftDir);
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read the SFT model in " + sftDir, e);
      }
    }
    return sftSha256;
  }

  /** Per partition, the offset of the first comparison read but not taken in, else the position. */
  private Map<Integer, Long> offsets() {
    var offsets = new TreeMap<Integer, Long>();
    for (var tp : partitions) {
      offsets.put(tp.partition(), consumer.position(tp, settings.kafkaTimeout()));
    }
    for (var p : pending) offsets.merge(p.partition(), p.offset(), Math::min);
    return offsets;
  }

  private void publish(OnlineRewardTraining.Version version, WeightSnapshot weights) {
    var meta = new TreeMap<String, String>();
    meta.put(PublishedWeights.META_MODEL_CONFIG, training.model().config().toJson());
    meta.put(PublishedWeights.META_REWARD_MEAN, decimal(version.scoreMean()));
    meta.put(PublishedWeights.META_REWARD_STD, decimal(version.scoreStd()));
    meta.put(PublishedWeights.META_LIKELIHOOD_WEIGHT, decimal(version.likelihoodWeight()));
    if (run != null) meta.put(PublishedWeights.META_RUN, run); // none in runs of older builds
    // the SFT model its score's likelihood term and its data came from: an actor scoring against
    // another one passes the version over
    meta.put(PublishedWeights.META_REFERENCE_SHA256, sftSha256());
    var snapshot =
        new PublishedWeights(
            WeightModel.REWARD, version.version(), weights.encode(), meta, Instant.now());
    int chunks =
        producer.inTransaction(
            "RM v" + version.version(), () -> publisher.publish(snapshot, settings.kafkaTimeout()));
    publishedVersion = version.version();
    firstPublished.complete(publishedVersion);
    out.printf(
        Locale.ROOT,
        "%s: published RM v%d (%d chunk(s), %d bytes; score mean %.4f, std %.4f, w %.4f)%n",
        name,
        version.version(),
        chunks,
        snapshot.bytes().length,
        version.scoreMean(),
        version.scoreStd(),
        version.likelihoodWeight());
    out.flush();
  }

  /** Plain decimal text that {@link Double#parseDouble} reads back to the same double. */
  static String decimal(double x) {
    return BigDecimal.valueOf(x).toPlainString();
  }

  private void appendAccuracyRow(
      OnlineRewardTraining.Version version, HeldOutComparisons.Figures f) {
    var now = Instant.now();
    var row =
        String.format(
            Locale.ROOT,
            "%s,%.1f,%d,%d,%.4f,%.4f,%.4f,%.4f,%d,%d,%.6f,%.6f,%.6f%n",
            now,
            (now.toEpochMilli() - training.startedAtMillis()) / 1000.0,
            training.seen(),
            version.version(),
            f.accuracy(),
            f.labelerAgreement(),
            f.oracleAccuracy(),
            f.accuracyVsOracle(),
            f.pairs(),
            f.agreementPairs(),
            version.likelihoodWeight(),
            version.scoreMean(),
            version.scoreStd());
    try {
      Files.writeString(
          outDir.resolve(ACCURACY_CSV),
          row,
          StandardCharsets.UTF_8,
          StandardOpenOption.CREATE,
          StandardOpenOption.APPEND);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot append to " + outDir.resolve(ACCURACY_CSV), e);
    }
  }

  /**
   * The comparison ids taken in by the run checkpointed in {@code dir}, in order (a repeat would
   * show twice).
   */
  public static List<String> appliedComparisonIds(Path dir) throws IOException {
    var node = Checkpoint.extras(dir).get(SOURCE_STATE);
    if (node == null) throw new InputError(dir + " holds no reward-trainer checkpoint");
    var state = SourceState.read(node);
    return AppliedIdLog.read(
        dir.resolve(APPLIED_FILE), state.appliedLogBytes(), state.appliedCount());
  }
}
