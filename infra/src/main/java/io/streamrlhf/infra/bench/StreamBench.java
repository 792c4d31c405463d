package io.streamrlhf.infra.bench;

import io.streamrlhf.actors.ActorEvents;
import io.streamrlhf.actors.ActorNode;
import io.streamrlhf.actors.ActorSettings;
import io.streamrlhf.actors.RolloutActor;
import io.streamrlhf.infra.bench.ModelBench.Figure;
import io.streamrlhf.infra.kafka.EmbeddedKafka;
import io.streamrlhf.infra.kafka.TopicProvisioner;
import io.streamrlhf.model.ByteTokenizer;
import io.streamrlhf.model.Gpt;
import io.streamrlhf.model.GptConfig;
import io.streamrlhf.model.RewardModel;
import io.streamrlhf.model.RolloutGenerator;
import io.streamrlhf.schemas.AvroCodec;
import io.streamrlhf.schemas.Prompt;
import io.streamrlhf.schemas.PublishedWeights;
import io.streamrlhf.schemas.Rollout;
import io.streamrlhf.schemas.Topics;
import io.streamrlhf.schemas.WeightModel;
import io.streamrlhf.schemas.WeightStore;
import io.streamrlhf.schemas.signing.TrustedWeightKeys;
import io.streamrlhf.schemas.signing.WeightSigner;
import io.streamrlhf.schemas.transport.KafkaClientConfigs;
import io.streamrlhf.schemas.transport.WeightPublisher;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * The streaming figures of BENCHMARKS.md, through a broker started here (embedded KRaft): one
 * rollout actor (the real {@link ActorNode}: weight subscriber + rollout actor verticles) with
 * randomly initialised policy, reference and reward model of one shape, so no checkpoints are
 * needed.
 *
 * <ul>
 *   <li>{@code stream_rollouts_per_s}: prompts produced to {@code rlhf.prompts} → the actor
 *       samples, scores and produces to {@code rlhf.rollouts} → a learner-side consumer has read
 *       every rollout;
 *   <li>{@code inproc_rollouts_per_s}: the same prompts, seeds and batches through the same {@link
 *       RolloutGenerator} calls on models of the same shape, handed over in memory;
 *   <li>{@code weights_publish_to_apply_ms}: from the start of encoding a new policy version on the
 *       learner side, through {@link WeightPublisher} (signed and in a transaction, as the
 *       streaming learner publishes), the actor's subscriber (reassembly, SHA-256 and signature
 *       check), to the moment the actor has loaded it. The actor is idle while this is measured, so
 *       the figure holds no wait for an in-flight sampling batch (in the loop a version that
 *       arrives mid-batch is applied after that batch, by design).
 * </ul>
 *
 * Stream and in-process repeats alternate, so load that changes during the run favours neither.
 */
public final class StreamBench {
  /**
   * One actor's work per repeat: {@code batches} generations of {@code promptsPerBatch} × K rows.
   */
  public record Workload(
      int promptsPerBatch, int responsesPerPrompt, int batches, int promptTokens, int newTokens) {
    /** bench-small's batch of 16 rows (8 prompts × K 2), 32 prompt and 64 new tokens per row. */
    public static Workload bench(int batches) {
      return new Workload(8, 2, batches, 32, 64);
    }

    public int rollouts() {
      return promptsPerBatch * responsesPerPrompt * batches;
    }
  }

  public record Result(
      int rolloutsPerRepeat,
      Figure streamRolloutsPerS,
      Figure inprocRolloutsPerS,
      Figure publishToApplyMs,
      Phases phases,
      long snapshotBytes) {}

  /**
   * Where publish-to-apply goes, medians over the same runs: encoding the snapshot (safetensors and
   * its checksummed frame), publishing it (chunking with SHA-256, Avro, until the broker
   * acknowledged every chunk), and the actor's load into its policy; the rest is the subscriber's
   * last chunks and the hand-over to the actor.
   */
  public record Phases(
      double encodeMs, double publishMs, double loadMs, Map<String, Double> finer) {}

  /**
   * The finer phases of publish-to-apply, in the order a version goes through them (medians; the
   * first six make up publish_until_acked). With a weight store, store_write is writing the bytes
   * there and store_read reading and checking them at the actor (0 without one). fetch_after_acked
   * is from the publisher's last acknowledgement to the subscriber's poll that returned the last
   * chunk (negative when the subscriber had every chunk before the publisher heard its
   * acknowledgements); handover is from the subscriber's send to the actor's load, including the
   * wait for the actor's loop.
   */
  public static final List<String> FINER_PHASES =
      List.of(
          "sign",
          "chunk_sha256",
          "store_write",
          "encode_send",
          "flush",
          "ack_wait",
          "fetch_span",
          "fetch_after_acked",
          "assemble",
          "verify",
          "store_read",
          "handover");

  private static final Duration WAIT = Duration.ofMinutes(2);
  private static final AvroCodec<Prompt> PROMPTS = AvroCodec.of(Prompt.class);
  private static final AvroCodec<Rollout> ROLLOUTS = AvroCodec.of(Rollout.class);
  private static final String ACTOR = "bench-actor";

  private final GptConfig config;
  private final Workload workload;
  private final int repeats;
  private final int weightRepeats;
  private final Map<Long, CompletableFuture<Long>> applied = new ConcurrentHashMap<>();
  private final Map<Long, Double> loadMs = new ConcurrentHashMap<>();
  private final Map<Long, JsonObject> received = new ConcurrentHashMap<>();
  private final WeightSigner signer = WeightSigner.generate();
  private WeightPublisher.Timing lastTiming;
  private long lastAckedAt;
  private double lastCommitMs;
  private double lastEncodeMs;
  private double lastPublishMs;
  private final ExecutorService sampler =
      Executors.newSingleThreadExecutor(
          r -> {
            var thread = new Thread(r, "bench-inproc-sampler");
            thread.setDaemon(true);
            return thread;
          });
  private final List<Gpt> inprocModels = new java.util.concurrent.CopyOnWriteArrayList<>();
  private long version = -1;
  private int round;

  /**
   * @param repeats measured stream/in-process pairs (after one warm-up pair)
   * @param weightRepeats measured weight publishes (after one warm-up)
   */
  public StreamBench(GptConfig config, Workload workload, int repeats, int weightRepeats) {
    this.config = config;
    this.workload = workload;
    this.repeats = repeats;
    this.weightRepeats = weightRepeats;
  }

  public Result run() {
    return run(true, null);
  }

  /**
   * Only publish-to-apply and its phases (the rollout figures are null): what {@code rlhf bench
   * --only weights} measures.
   */
  public Result runWeights() {
    return run(false, null);
  }

  /**
   * {@link #runWeights} with the policy's bytes in a {@link WeightStore} at {@code storeDir} and a
   * signed pointer on the topic ({@code --weights-store}).
   */
  public Result runWeights(Path storeDir) {
    return run(false, WeightStore.at(storeDir));
  }

  private Result run(boolean withRollouts, WeightStore store) {
    try (var broker = EmbeddedKafka.start()) {
      return run(broker.bootstrapServers(), withRollouts, store);
    }
  }

  private Result run(String bootstrap, boolean withRollouts, WeightStore store) {
    Vertx vertx = null;
    ActorNode node = null;
    RuntimeException failure = null;
    try (var policy = Gpt.create(config, 0)) {
      TopicProvisioner.provision(bootstrap, WAIT);
      vertx = ActorNode.newVertx();
      vertx
          .eventBus()
          .<JsonObject>consumer(
              ActorEvents.APPLIED,
              m -> {
                long v = m.body().getLong("version");
                loadMs.put(v, m.body().getDouble("loadMs"));
                applied
                    .computeIfAbsent(v, x -> new CompletableFuture<>())
                    .complete(System.nanoTime());
              });
      vertx
          .eventBus()
          .<JsonObject>consumer(
              ActorEvents.RECEIVED, m -> received.put(m.body().getLong("version"), m.body()));
      // As in the loop: the learner signs every version, the actor trusts only its key.
      var settings =
          ActorSettings.of(
                  ACTOR, bootstrap, workload.responsesPerPrompt(), workload.newTokens(), 1.0)
              .withMaxPromptsPerBatch(workload.promptsPerBatch())
              .withWeightKeys(TrustedWeightKeys.none().with(WeightModel.POLICY, signer.publicKey()))
              .withWeightStore(store);
      // The actor's frozen models: fresh copies with the seeds of the in-process ones, so both
      // sides score alike.
      var models =
          new RolloutActor.Models(
              () -> Gpt.create(config, 1),
              reference -> RewardModel.headOnly(Gpt.create(config, 2)));
      node =
          ActorNode.deploy(
              vertx,
              settings,
              models,
              line -> {
                if (line.contains("stopping")) System.err.println("bench: " + line);
              });
      try (var producer =
              new KafkaProducer<byte[], byte[]>(
                  KafkaClientConfigs.producer(bootstrap, "bench-learner"));
          var weights = transactionalProducer(bootstrap);
          var rollouts =
              new KafkaConsumer<byte[], byte[]>(
                  KafkaClientConfigs.groupConsumer(bootstrap, "bench-learner", "bench-learner"))) {
        rollouts.subscribe(List.of(Topics.ROLLOUTS));
        var publisher = new WeightPublisher(weights, signer, store);
        long bytes = publishAndAwait(weights, publisher, policy); // v0: the actor starts serving
        if (!withRollouts) return weightsOnly(weights, publisher, policy, bytes);
        // The in-process side's models are made as the actor makes its own: on the thread that
        // samples with them, in inference mode (made on the main thread they sampled ~20% slower
        // here).
        var generator =
            await(
                CompletableFuture.supplyAsync(
                    () -> {
                      Gpt.inferenceOnlyThread();
                      inprocModels.add(Gpt.create(config, 0));
                      inprocModels.add(Gpt.create(config, 1));
                      inprocModels.add(Gpt.create(config, 2));
                      return new RolloutGenerator(
                          inprocModels.get(0),
                          inprocModels.get(1),
                          RewardModel.headOnly(inprocModels.get(2)),
                          workload.newTokens(),
                          1.0);
                    },
                    sampler),
                "the in-process models");
        // warm-up of both paths (the first stream round also absorbs the learner consumer's group
        // join)
        streamRolloutsPerS(producer, rollouts, -1);
        inprocRolloutsPerS(generator, -1);
        double[] stream = new double[repeats];
        double[] inproc = new double[repeats];
        for (int r = 0; r < repeats; r++) {
          stream[r] = streamRolloutsPerS(producer, rollouts, r);
          inproc[r] = inprocRolloutsPerS(generator, r);
        }
        var w = weightsOnly(weights, publisher, policy, bytes);
        return new Result(
            workload.rollouts(),
            Figure.of(stream),
            Figure.of(inproc),
            w.publishToApplyMs(),
            w.phases(),
            bytes);
      }
    } catch (RuntimeException e) {
      failure = e;
      throw e;
    } finally {
      inprocModels.forEach(Gpt::close);
      sampler.shutdownNow();
      // the actor before the broker (the caller closes it): its clients commit and leave the group
      try {
        if (node != null) node.stop();
        if (vertx != null) vertx.close().toCompletionStage().toCompletableFuture().join();
      } catch (RuntimeException e) {
        if (failure == null) throw e;
        failure.addSuppressed(e); // the first failure is the one to report
      }
    }
  }

  /** Publish-to-apply, after one warm-up publish; the rollout figures are null. */
  private Result weightsOnly(
      KafkaProducer<byte[], byte[]> producer, WeightPublisher publisher, Gpt policy, long bytes) {
    publishAndAwait(producer, publisher, policy); // warm-up
    double[] total = new double[weightRepeats];
    double[] encode = new double[weightRepeats];
    double[] publish = new double[weightRepeats];
    double[] load = new double[weightRepeats];
    var finer = new LinkedHashMap<String, double[]>();
    FINER_PHASES.forEach(k -> finer.put(k, new double[weightRepeats]));
    finer.put("txn_commit", new double[weightRepeats]);
    for (int i = 0; i < weightRepeats; i++) {
      long t0 = System.nanoTime();
      publishAndAwait(producer, publisher, policy);
      long appliedAt = applied.get(version).join();
      total[i] = (appliedAt - t0) / 1e6;
      encode[i] = lastEncodeMs;
      publish[i] = lastPublishMs;
      load[i] = loadMs.getOrDefault(version, Double.NaN);
      var t = lastTiming;
      var r = received.get(version);
      finer.get("sign")[i] = t.signMs();
      finer.get("chunk_sha256")[i] = t.chunkMs();
      finer.get("store_write")[i] = t.storeMs();
      finer.get("encode_send")[i] = t.sendMs();
      finer.get("flush")[i] = t.flushMs();
      finer.get("ack_wait")[i] = t.ackMs();
      finer.get("txn_commit")[i] = lastCommitMs;
      if (r != null) {
        finer.get("fetch_span")[i] = ms(r.getLong("lastChunkAt") - r.getLong("firstChunkAt"));
        finer.get("fetch_after_acked")[i] = ms(r.getLong("lastChunkAt") - lastAckedAt);
        finer.get("assemble")[i] = ms(r.getLong("assembledAt") - r.getLong("lastChunkAt"));
        finer.get("verify")[i] = ms(r.getLong("verifiedAt") - r.getLong("assembledAt"));
        finer.get("store_read")[i] = ms(r.getLong("fetchedAt") - r.getLong("verifiedAt"));
        finer.get("handover")[i] = ms(appliedAt - r.getLong("sentAt")) - load[i];
      } else {
        for (var k :
            List.of(
                "fetch_span", "fetch_after_acked", "assemble", "verify", "store_read", "handover"))
          finer.get(k)[i] = Double.NaN;
      }
    }
    var medians = new LinkedHashMap<String, Double>();
    finer.forEach((k, v) -> medians.put(k, Figure.of(v).median()));
    var phases =
        new Phases(
            Figure.of(encode).median(),
            Figure.of(publish).median(),
            Figure.of(load).median(),
            medians);
    return new Result(0, null, null, Figure.of(total), phases, bytes);
  }

  private static double ms(long nanos) {
    return nanos / 1e6;
  }

  /**
   * The weights producer as the streaming learner has it: idempotent, transactional (actors read
   * committed, so a version becomes visible when its transaction commits).
   */
  private static KafkaProducer<byte[], byte[]> transactionalProducer(String bootstrap) {
    var config = new HashMap<>(KafkaClientConfigs.producer(bootstrap, "bench-learner-weights"));
    config.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "bench-learner-weights");
    var producer = new KafkaProducer<byte[], byte[]>(config);
    producer.initTransactions();
    return producer;
  }

  /**
   * Publishes the next policy version (as the streaming learner does: signed, in a transaction) and
   * waits until the actor applied it.
   */
  private long publishAndAwait(
      KafkaProducer<byte[], byte[]> producer, WeightPublisher publisher, Gpt policy) {
    long v = ++version;
    var done = applied.computeIfAbsent(v, x -> new CompletableFuture<>());
    long t0 = System.nanoTime();
    var snapshot =
        new PublishedWeights(
            WeightModel.POLICY,
            v,
            policy.snapshot(v).encode(),
            Map.of(PublishedWeights.META_MODEL_CONFIG, config.toJson()),
            Instant.now());
    long t1 = System.nanoTime();
    producer.beginTransaction();
    publisher.publish(snapshot, WAIT);
    lastAckedAt = System.nanoTime();
    producer.commitTransaction();
    lastEncodeMs = (t1 - t0) / 1e6;
    lastPublishMs = (lastAckedAt - t1) / 1e6;
    lastCommitMs = (System.nanoTime() - lastAckedAt) / 1e6;
    lastTiming = publisher.lastTiming();
    await(done, "the actor to apply policy v" + v);
    return snapshot.bytes().length;
  }

  /**
   * The prompts of pair {@code pair} (the stream and in-process rounds of a pair get the same text
   * and seeds), ids unique per round, seeds drawn per batch as the learner draws them.
   */
  static List<Prompt> prompts(Workload workload, int pair, int roundIndex) {
    var rng = new SplittableRandom(pair + 1L);
    var out = new ArrayList<Prompt>();
    for (int b = 0; b < workload.batches(); b++) {
      long[] seeds = RolloutGenerator.promptSeeds(1000L * pair + b, workload.promptsPerBatch());
      for (int i = 0; i < workload.promptsPerBatch(); i++) {
        var text = new StringBuilder();
        for (int t = 0; t < workload.promptTokens() - 1; t++)
          text.append((char) ('a' + rng.nextInt(26)));
        out.add(
            Prompt.newBuilder()
                .setPromptId("r" + roundIndex + "-b" + b + "-p" + i)
                .setText(text + "\n")
                .setCreatedAt(Instant.now())
                .setMinPolicyVersion(0)
                .setSamplingSeed(seeds[i])
                .build());
      }
    }
    return out;
  }

  /**
   * Prompts in through Kafka, rollouts out through Kafka, timed from the first send to the last
   * rollout read.
   */
  private double streamRolloutsPerS(
      KafkaProducer<byte[], byte[]> producer, KafkaConsumer<byte[], byte[]> rollouts, int pair) {
    int r = round++;
    var prompts = prompts(workload, pair, r);
    String prefix = "r" + r + "-";
    long t0 = System.nanoTime();
    for (var p : prompts) {
      producer.send(
          new ProducerRecord<>(
              Topics.PROMPTS, p.getPromptId().getBytes(StandardCharsets.UTF_8), PROMPTS.encode(p)));
    }
    producer.flush();
    int seen = 0;
    long deadline = t0 + WAIT.toNanos();
    while (seen < workload.rollouts()) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException(
            "stream bench: only "
                + seen
                + " of "
                + workload.rollouts()
                + " rollouts arrived within "
                + WAIT.toSeconds()
                + " s");
      }
      for (var record : rollouts.poll(Duration.ofMillis(100))) {
        if (ROLLOUTS.decode(record.value()).getPromptId().startsWith(prefix)) seen++;
      }
    }
    double seconds = (System.nanoTime() - t0) / 1e9;
    rollouts.commitSync();
    return seen / seconds;
  }

  /**
   * The same prompts, batches and seeds through the same generator calls, in memory, on a thread of
   * its own set up as the actor's (inference only), not on the bench's main thread.
   */
  private double inprocRolloutsPerS(RolloutGenerator generator, int pair) {
    var prompts = prompts(workload, pair, round++);
    return await(
        CompletableFuture.supplyAsync(
            () -> {
              Gpt.inferenceOnlyThread();
              return inprocRolloutsPerS(generator, prompts);
            },
            sampler),
        "the in-process sampling");
  }

  private double inprocRolloutsPerS(RolloutGenerator generator, List<Prompt> prompts) {
    long t0 = System.nanoTime();
    int produced = 0;
    for (int b = 0; b < workload.batches(); b++) {
      var batch = new ArrayList<RolloutGenerator.SeededPrompt>();
      for (var p :
          prompts.subList(b * workload.promptsPerBatch(), (b + 1) * workload.promptsPerBatch())) {
        batch.add(
            new RolloutGenerator.SeededPrompt(
                ByteTokenizer.encode(p.getText()), p.getSamplingSeed()));
      }
      produced += generator.sample(batch, workload.responsesPerPrompt()).size();
    }
    return produced / ((System.nanoTime() - t0) / 1e9);
  }

  private static <T> T await(CompletableFuture<T> future, String what) {
    try {
      return future.get(WAIT.toSeconds(), TimeUnit.SECONDS);
    } catch (TimeoutException e) {
      throw new IllegalStateException(
          "stream bench: waited " + WAIT.toSeconds() + " s for " + what, e);
    } catch (ExecutionException e) {
      throw new IllegalStateException(
          "stream bench: " + what + " failed: " + e.getCause(), e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted waiting for " + what, e);
    }
  }
}
