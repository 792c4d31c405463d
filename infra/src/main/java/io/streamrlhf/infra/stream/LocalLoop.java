package io.streamrlhf.infra.stream;

import io.streamrlhf.actors.ActorEvents;
import io.streamrlhf.actors.ActorNode;
import io.streamrlhf.actors.ActorReward;
import io.streamrlhf.actors.ActorSettings;
import io.streamrlhf.actors.RewardScale;
import io.streamrlhf.actors.RolloutActor;
import io.streamrlhf.actors.Supervisor;
import io.streamrlhf.infra.kafka.EmbeddedKafka;
import io.streamrlhf.infra.kafka.TopicProvisioner;
import io.streamrlhf.learner.config.PpoConfig;
import io.streamrlhf.learner.ppo.RewardSource;
import io.streamrlhf.learner.stream.KafkaRollouts;
import io.streamrlhf.learner.stream.StreamStats;
import io.streamrlhf.learner.train.TrainState;
import io.streamrlhf.model.Gpt;
import io.streamrlhf.model.RewardModel;
import io.streamrlhf.model.checkpoint.Checkpoint;
import io.streamrlhf.model.checkpoint.RewardStats;
import io.streamrlhf.schemas.Topics;
import io.streamrlhf.schemas.WeightModel;
import io.streamrlhf.schemas.WeightStore;
import io.streamrlhf.schemas.signing.SigningKeys;
import io.streamrlhf.schemas.signing.TrustedWeightKeys;
import io.streamrlhf.schemas.transport.KafkaAccess;
import io.streamrlhf.tasks.Completion;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;

/**
 * The streaming loop in one process, through a real Kafka broker: the embedded KRaft broker (unless
 * a bootstrap address is given), N rollout actors as Vert.x verticles, and the streaming learner on
 * a thread of its own. What {@code rlhf ppo} and {@code rlhf demo} run by default; the processes of
 * a deployment ({@code rlhf actor}, {@code rlhf learner}) are the same parts apart.
 *
 * <p>The learner signs its policy versions with the key pair in its output directory and the
 * actors, handed the public key in memory, apply nothing else.
 *
 * <p>A {@link Supervisor} keeps the actors running: one that fails is replaced by a fresh
 * deployment (logged and counted); when one keeps failing the supervisor gives up, the learner is
 * interrupted and the run fails with that actor's failure.
 */
public final class LocalLoop {
  private static final Duration PROVISION_TIMEOUT = Duration.ofSeconds(60);
  private static final Duration FINAL_WEIGHTS_WAIT = Duration.ofSeconds(60);

  /** How long an interrupted learner may take to end before the run's resources are closed. */
  private static final Duration LEARNER_STOP_WAIT = Duration.ofSeconds(30);

  private LocalLoop() {}

  /**
   * Creates the loop's topics where missing, {@code rlhf.prompts} on the config's
   * prompt_partitions, and says when the topic found cannot keep every actor busy.
   *
   * @param actors the actors this process runs, 0 when they run elsewhere
   */
  public static void provisionTopics(
      KafkaAccess kafka, PpoConfig config, int actors, String who, PrintWriter out) {
    TopicProvisioner.provision(kafka, PROVISION_TIMEOUT, config.promptPartitions());
    int partitions = TopicProvisioner.partitions(kafka, Topics.PROMPTS, PROVISION_TIMEOUT);
    if (partitions < config.promptPartitions()) {
      out.printf(
          "%s: %s already exists with %d partition(s); prompt_partitions %d applies only to a"
              + " topic that does not exist yet%n",
          who, Topics.PROMPTS, partitions, config.promptPartitions());
    }
    if (actors > partitions) {
      out.printf(
          "%s: %d actors share %s's %d partition(s): %d of them will get no prompt (Kafka gives"
              + " each partition to one member of the group); set prompt_partitions=%d on a"
              + " fresh cluster%n",
          who, actors, Topics.PROMPTS, partitions, actors - partitions, actors);
    }
    out.flush();
  }

  /**
   * Runs PPO through Kafka with {@code actors} in-process actors; writes the learner's checkpoint
   * and {@link StreamStats#FILE} (with the actors' publish-to-apply times) to {@code outDir}.
   *
   * @param bootstrap a cluster to use, or null for an embedded broker that lives as long as the run
   */
  public static StreamStats.Summary run(
      PpoConfig config,
      int actors,
      String bootstrap,
      Path sftDir,
      Path rmDir,
      Path outDir,
      PrintWriter out)
      throws IOException {
    var kafka = bootstrap == null ? null : KafkaAccess.plaintext(bootstrap);
    return run(config, actors, kafka, sftDir, rmDir, outDir, out);
  }

  /**
   * {@link #run(PpoConfig, int, String, Path, Path, Path, PrintWriter)} on a cluster that may need
   * credentials.
   *
   * @param kafka a cluster to use, or null for an embedded broker that lives as long as the run
   */
  public static StreamStats.Summary run(
      PpoConfig config,
      int actors,
      KafkaAccess kafka,
      Path sftDir,
      Path rmDir,
      Path outDir,
      PrintWriter out)
      throws IOException {
    return run(
        config, actors, kafka, sftDir, rmDir, outDir, out, UnaryOperator.identity(), e -> {});
  }

  /**
   * {@link #run} with each actor's settings adjusted by {@code actorSettings} (after {@link
   * #settings}): label requests, say, for a loop with labelers; {@code rewardApplied} sees every
   * actor's {@link ActorEvents#REWARD_APPLIED} event (a live loop times rankings with them).
   */
  public static StreamStats.Summary run(
      PpoConfig config,
      int actors,
      KafkaAccess kafka,
      Path sftDir,
      Path rmDir,
      Path outDir,
      PrintWriter out,
      UnaryOperator<ActorSettings> actorSettings,
      Consumer<JsonObject> rewardApplied)
      throws IOException {
    return run(
        config,
        actors,
        kafka,
        sftDir,
        rmDir,
        outDir,
        out,
        actorSettings,
        rewardApplied,
        UnaryOperator.identity());
  }

  /**
   * {@link #run} with each actor's models passed through {@code injectFaults} first: the seam the
   * tests use to make an in-process actor fail (a reward function that throws) and see it replaced.
   */
  static StreamStats.Summary run(
      PpoConfig config,
      int actors,
      KafkaAccess kafka,
      Path sftDir,
      Path rmDir,
      Path outDir,
      PrintWriter out,
      UnaryOperator<ActorSettings> actorSettings,
      Consumer<JsonObject> rewardApplied,
      UnaryOperator<RolloutActor.Models> injectFaults)
      throws IOException {
    if (actors < 1) throw new IllegalArgumentException("--actors must be >= 1, got " + actors);
    // The actors and the learner share this machine's cores. PyTorch's default gives every part
    // every core, and the parts then wait on each other's threads: each actor samples on one
    // thread (its decode steps use one anyway) and the learner takes the rest, at least one.
    int callerThreads = Gpt.intraOpThreads();
    int learnerThreads = Math.max(1, Runtime.getRuntime().availableProcessors() - actors);
    EmbeddedKafka broker = null;
    Vertx vertx = null;
    Supervisor supervisor = null;
    SwapLog swaps = null;
    if (finished(config, outDir)) {
      // the demo run again, say: its figures stay as the run's last process wrote them
      sayFinished(out, outDir, config);
      return StreamStats.Summary.read(outDir);
    }
    try {
      if (kafka == null) {
        broker =
            EmbeddedKafka.start(
                EmbeddedKafka.Options.defaults()
                    .withAfterHalt(
                        "the checkpoints in "
                            + outDir
                            + " stay, and a resume continues from the last"));
        kafka = broker.access();
        out.printf(
            "ppo: embedded Kafka broker at %s (ready in %d ms)%n",
            kafka, broker.startupTime().toMillis());
      }
      provisionTopics(kafka, config, actors, "ppo", out);
      // the learner's key, created here on a first run, is the one KafkaRollouts signs with
      var learnerKey = SigningKeys.inDirectory(outDir).publicKey();
      vertx = ActorNode.newVertx();
      swaps = new SwapLog(outDir, Checkpoint.exists(outDir), out);
      var swapLog = swaps;
      var newest = new java.util.concurrent.ConcurrentHashMap<String, Long>();
      vertx
          .eventBus()
          .<JsonObject>consumer(
              ActorEvents.APPLIED,
              m -> {
                // v0 is published before any actor listens, so its time says how long actors took
                // to start; so does any version an actor restarted after read from the log
                if (m.body().getLong("version") > 0 && !m.body().getBoolean("joined", false))
                  swapLog.add(m.body().getLong("publishToApplyMs"));
                newest.merge(m.body().getString("actorId"), m.body().getLong("version"), Math::max);
              });
      vertx
          .eventBus()
          .<JsonObject>consumer(ActorEvents.REWARD_APPLIED, m -> rewardApplied.accept(m.body()));
      Consumer<String> log =
          line -> {
            synchronized (out) {
              out.println(line);
              out.flush();
            }
          };
      // each actor loads its own frozen SFT reference and the reward the config names
      var models = injectFaults.apply(actorModels(config, sftDir, rmDir));
      supervisor = new Supervisor("ppo", log);
      WeightStore store = null;
      for (int i = 0; i < actors; i++) {
        var settings =
            actorSettings.apply(
                settings("actor-" + i, kafka, config)
                    .withWeightKeys(TrustedWeightKeys.none().with(WeightModel.POLICY, learnerKey))
                    .withIntraOpThreads(1)
                    .withLogEveryVersions(config.logEveryUpdates()));
        store = settings.weightStore();
        var on = vertx;
        supervisor.start(settings.actorId(), () -> ActorNode.deploy(on, settings, models, log));
      }
      // one store per run: the learner writes where its actors read
      var learner = KafkaRollouts.Settings.of(kafka).withWeightStore(store);
      var summary =
          whileActorsRun(
              supervisor,
              () -> {
                Gpt.intraOpThreads(learnerThreads);
                return KafkaRollouts.learn(config, learner, sftDir, rmDir, outDir, out);
              });
      awaitFinalWeights(newest, actors, config.updates(), out);
      swaps.close();
      summary = summary.withPublishToApply(SwapLog.read(outDir));
      summary.write(outDir);
      out.println("ppo: " + summary.line());
      out.flush();
      return summary;
    } finally {
      if (supervisor != null) {
        long stopping = System.nanoTime();
        supervisor.close();
        out.printf(
            "ppo: %d actor(s) stopped in %d ms; %d restart(s) of a failed actor%n",
            actors, (System.nanoTime() - stopping) / 1_000_000, supervisor.restarts());
        out.flush();
      }
      if (vertx != null) vertx.close().toCompletionStage().toCompletableFuture().join();
      if (swaps != null) swaps.close();
      if (broker != null) broker.close();
      Gpt.intraOpThreads(callerThreads); // also the count threads started later begin with
    }
  }

  /** The learner's work, which may throw what the learner throws. */
  @FunctionalInterface
  private interface Learning {
    StreamStats.Summary run() throws IOException;
  }

  /**
   * Runs the learner on a thread of its own until it returns, or until the supervisor gives up on
   * an actor: then the learner is interrupted (its next wait on Kafka ends) and the run fails with
   * the supervisor's message. What the learner throws is rethrown as it is.
   */
  private static StreamStats.Summary whileActorsRun(Supervisor actors, Learning learning)
      throws IOException {
    var learned = new CompletableFuture<StreamStats.Summary>();
    var learner =
        new Thread(
            () -> {
              try {
                learned.complete(learning.run());
              } catch (Throwable t) {
                learned.completeExceptionally(t);
              }
            },
            "rlhf-learner");
    learner.start();
    try {
      CompletableFuture.anyOf(learned, actors.gaveUp()).get();
      return learned.get();
    } catch (InterruptedException e) {
      learner.interrupt();
      Thread.currentThread().interrupt();
      throw new IllegalStateException("ppo: interrupted", e);
    } catch (ExecutionException e) {
      if (!learned.isDone()) {
        learner.interrupt();
        awaitQuietly(learner, LEARNER_STOP_WAIT);
        var gaveUp = e.getCause();
        throw new IllegalStateException(gaveUp.getMessage(), gaveUp.getCause());
      }
      var cause = e.getCause();
      if (cause instanceof IOException io) throw io;
      if (cause instanceof RuntimeException r) throw r;
      if (cause instanceof Error error) throw error;
      throw new IllegalStateException(cause);
    }
  }

  private static void awaitQuietly(Thread thread, Duration wait) {
    try {
      thread.join(wait.toMillis());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * Waits (bounded) until every actor applied the learner's last version, so the figures count
   * every swap.
   */
  private static void awaitFinalWeights(
      java.util.Map<String, Long> newest, int actors, long version, PrintWriter out) {
    long deadline = System.nanoTime() + FINAL_WEIGHTS_WAIT.toNanos();
    while (newest.values().stream().filter(v -> v >= version).count() < actors) {
      if (System.nanoTime() > deadline) {
        out.printf(
            "ppo: not every actor applied v%d within %d s (newest per actor: %s)%n",
            version, FINAL_WEIGHTS_WAIT.toSeconds(), newest);
        return;
      }
      try {
        Thread.sleep(20); // polling a condition with a deadline, not synchronising on time
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return;
      }
    }
  }

  /**
   * An actor sampling as the learner's config says (K, temperature), responses of TASKS.md's
   * length.
   */
  public static ActorSettings settings(String actorId, String bootstrap, PpoConfig config) {
    return settings(actorId, KafkaAccess.plaintext(bootstrap), config);
  }

  /** {@link #settings(String, String, PpoConfig)} on a cluster that may need credentials. */
  public static ActorSettings settings(String actorId, KafkaAccess kafka, PpoConfig config) {
    return ActorSettings.of(
            actorId,
            kafka,
            config.responsesPerPrompt(),
            Completion.MAX_NEW_TOKENS,
            config.samplingTemperature())
        .withMaxPromptsPerBatch(config.promptsPerBatch());
  }

  /**
   * An actor's models for the config's reward: the SFT reference in {@code sftDir} and the reward,
   * with how the actor samples and scores ({@link KafkaRollouts#actorTerms}), which the learner's
   * policy versions must match.
   */
  public static RolloutActor.Models actorModels(PpoConfig config, Path sftDir, Path rmDir)
      throws IOException {
    var reward = config.reward();
    return RolloutActor.Models.load(sftDir, actorReward(reward, rmDir))
        .withTerms(KafkaRollouts.actorTerms(config, sftDir, rmDir));
  }

  /**
   * What actors score with for the config's {@code reward}: the reward model in {@code rmDir} as
   * version 0 with the statistics stored beside it, followed by the versions a reward trainer
   * publishes; the oracle, fixed; or (live) only the published versions, from v0 on.
   */
  public static ActorReward actorReward(String reward, Path rmDir) throws IOException {
    return switch (reward) {
      case PpoConfig.REWARD_MODEL -> {
        var source = RewardSource.of(reward, rmDir); // refuses a missing --rm
        var stats = RewardStats.read(rmDir);
        yield new ActorReward.Offline(
            reference -> (RewardModel) source.loadUnchecked(reference),
            new RewardScale(stats.scoreMean(), stats.scoreStd(), stats.likelihoodWeight()));
      }
      case PpoConfig.REWARD_LIVE -> new ActorReward.Live();
      default -> new ActorReward.Fixed(RewardSource.of(reward, rmDir)::loadUnchecked);
    };
  }

  /** For tests and the demo: the actors' ids as {@link #run} names them. */
  public static List<String> actorIds(int actors) {
    var ids = new ArrayList<String>();
    for (int i = 0; i < actors; i++) ids.add("actor-" + i);
    return ids;
  }

  /** What a resumed run says when its --out already holds every update (a live run's too). */
  public static void sayFinished(PrintWriter out, Path outDir, PpoConfig config) {
    sayFinished(out, "ppo", outDir, config);
  }

  /** {@link #sayFinished(PrintWriter, Path, PpoConfig)} for {@code command} ("learner"). */
  public static void sayFinished(PrintWriter out, String command, Path outDir, PpoConfig config) {
    out.printf(
        "%s: %s already holds all %d updates: nothing to do%n", command, outDir, config.updates());
    out.flush();
  }

  /** {@code outDir} holds the checkpoint of the run's last update and the run's figures. */
  public static boolean finished(PpoConfig config, Path outDir) throws IOException {
    return Checkpoint.exists(outDir)
        && Checkpoint.trainState(outDir, TrainState.class).step() >= config.updates()
        && Files.exists(outDir.resolve(StreamStats.FILE));
  }
}
