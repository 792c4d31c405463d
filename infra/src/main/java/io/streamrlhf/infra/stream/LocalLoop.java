package io.streamrlhf.infra.stream;

import io.streamrlhf.actors.ActorEvents;
import io.streamrlhf.actors.ActorNode;
import io.streamrlhf.actors.ActorReward;
import io.streamrlhf.actors.ActorSettings;
import io.streamrlhf.actors.RewardScale;
import io.streamrlhf.actors.RolloutActor;
import io.streamrlhf.infra.kafka.EmbeddedKafka;
import io.streamrlhf.infra.kafka.TopicProvisioner;
import io.streamrlhf.learner.config.PpoConfig;
import io.streamrlhf.learner.ppo.RewardSource;
import io.streamrlhf.learner.stream.KafkaRollouts;
import io.streamrlhf.learner.stream.StreamStats;
import io.streamrlhf.model.RewardModel;
import io.streamrlhf.model.checkpoint.RewardStats;
import io.streamrlhf.tasks.Completion;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;

/**
 * The streaming loop in one process, through a real Kafka broker: the embedded KRaft broker (unless
 * a bootstrap address is given), N rollout actors as Vert.x verticles, and the streaming learner on
 * the calling thread. What {@code rlhf ppo} and {@code rlhf demo} run by default; the processes of
 * a deployment ({@code rlhf actor}, {@code rlhf learner}) are the same parts apart.
 */
public final class LocalLoop {
  private static final Duration PROVISION_TIMEOUT = Duration.ofSeconds(60);
  private static final Duration FINAL_WEIGHTS_WAIT = Duration.ofSeconds(60);

  private LocalLoop() {}

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
    return run(
        config, actors, bootstrap, sftDir, rmDir, outDir, out, UnaryOperator.identity(), e -> {});
  }

  /**
   * {@link #run} with each actor's settings adjusted by {@code actorSettings} (after {@link
   * #settings}): label requests, say, for a loop with labelers; {@code rewardApplied} sees every
   * actor's {@link ActorEvents#REWARD_APPLIED} event (a live loop times rankings with them).
   */
  public static StreamStats.Summary run(
      PpoConfig config,
      int actors,
      String bootstrap,
      Path sftDir,
      Path rmDir,
      Path outDir,
      PrintWriter out,
      UnaryOperator<ActorSettings> actorSettings,
      Consumer<JsonObject> rewardApplied)
      throws IOException {
    if (actors < 1) throw new IllegalArgumentException("--actors must be >= 1, got " + actors);
    EmbeddedKafka broker = null;
    Vertx vertx = null;
    var nodes = new ArrayList<ActorNode>();
    try {
      if (bootstrap == null) {
        broker = EmbeddedKafka.start();
        bootstrap = broker.bootstrapServers();
        out.printf(
            "ppo: embedded Kafka broker at %s (ready in %d ms)%n",
            bootstrap, broker.startupTime().toMillis());
      }
      TopicProvisioner.provision(bootstrap, PROVISION_TIMEOUT);
      vertx = ActorNode.newVertx();
      var swaps = java.util.Collections.synchronizedList(new ArrayList<Long>());
      var newest = new java.util.concurrent.ConcurrentHashMap<String, Long>();
      vertx
          .eventBus()
          .<JsonObject>consumer(
              ActorEvents.APPLIED,
              m -> {
                // v0 is published before any actor listens, so its time says how long actors took
                // to start
                if (m.body().getLong("version") > 0)
                  swaps.add(m.body().getLong("publishToApplyMs"));
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
      var models = RolloutActor.Models.load(sftDir, actorReward(config.reward(), rmDir));
      for (int i = 0; i < actors; i++) {
        var settings = actorSettings.apply(settings("actor-" + i, bootstrap, config));
        nodes.add(ActorNode.deploy(vertx, settings, models, log));
      }
      var summary =
          KafkaRollouts.learn(
              config, KafkaRollouts.Settings.of(bootstrap), sftDir, rmDir, outDir, out);
      awaitFinalWeights(newest, actors, config.updates(), out);
      long[] millis;
      synchronized (swaps) {
        millis = swaps.stream().mapToLong(Long::longValue).toArray();
      }
      summary = summary.withPublishToApply(millis);
      summary.write(outDir);
      out.println("ppo: " + summary.line());
      out.flush();
      return summary;
    } finally {
      long stopping = System.nanoTime();
      for (var node : nodes) node.stop();
      out.printf(
          "ppo: %d actor(s) stopped in %d ms%n",
          nodes.size(), (System.nanoTime() - stopping) / 1_000_000);
      out.flush();
      if (vertx != null) vertx.close().toCompletionStage().toCompletableFuture().join();
      if (broker != null) broker.close();
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
    return ActorSettings.of(
            actorId,
            bootstrap,
            config.responsesPerPrompt(),
            Completion.MAX_NEW_TOKENS,
            config.samplingTemperature())
        .withMaxPromptsPerBatch(config.promptsPerBatch());
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
}
