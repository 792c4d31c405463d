package io.streamrlhf.infra.stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import io.streamrlhf.actors.ActorEvents;
import io.streamrlhf.actors.ActorNode;
import io.streamrlhf.actors.ActorReward;
import io.streamrlhf.actors.RolloutActor;
import io.streamrlhf.learner.config.ConfigLoader;
import io.streamrlhf.learner.ppo.RewardSource;
import io.streamrlhf.learner.stream.KafkaRollouts;
import io.streamrlhf.model.Gpt;
import io.streamrlhf.model.RewardFunction;
import io.streamrlhf.model.ScoringBatch;
import io.streamrlhf.schemas.Rollout;
import io.streamrlhf.schemas.Topics;
import io.streamrlhf.schemas.transport.KafkaAccess;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.UnaryOperator;
import java.util.regex.Pattern;
import org.apache.kafka.common.utils.Utils;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Actors come and go mid-run: the only actor is stopped after update 2, and one that joins then
 * receives the prompts after the rebalance (including those the first one had polled but not
 * answered) and starts from the newest weights. No prompt is lost for good: with max_lag 0 the
 * learner needs every prompt of every batch, so a lost one would stall it.
 *
 * <p>Actors also die: an actor process killed with SIGKILL (no goodbye to the group) has its
 * partitions moved to a survivor within seconds, not Kafka's default 45 s session; an in-process
 * actor that throws an Error is replaced by a fresh one and the run completes; one that keeps
 * failing ends the run instead of being restarted forever.
 */
class ActorChurnTest {
  private static final Duration WAIT = Duration.ofSeconds(120);

  /**
   * Below the 45 s a dead member used to hold its partitions, and far above the expected hand-over
   * (the 6 s session timeout, plus the survivor's next poll): a bound, not a timing.
   */
  private static final Duration HANDOVER_BOUND = Duration.ofSeconds(40);

  @Test
  void anActorJoiningGetsPromptsAndNewestWeightsAndOneLeavingLosesNoPrompt(@TempDir Path dir)
      throws Exception {
    TinyRun.checkpoints(dir);
    var bootstrap = LoopBroker.fresh();
    var config = TinyRun.config(6, 0);
    var vertx = ActorNode.newVertx();
    var firstApplied = Collections.synchronizedMap(new HashMap<String, Long>());
    vertx
        .eventBus()
        .<JsonObject>consumer(
            ActorEvents.APPLIED,
            m ->
                firstApplied.putIfAbsent(
                    m.body().getString("actorId"), m.body().getLong("version")));
    var reward = RewardSource.of(config.reward(), dir.resolve("rm"));
    var models = RolloutActor.Models.load(dir.resolve("sft"), reward::loadUnchecked);
    var log = new Watch();
    var early =
        ActorNode.deploy(
            vertx, LocalLoop.settings("actor-early", bootstrap, config), models, log::line);
    ActorNode late = null;
    var learnerLog = new Watch();
    var learner =
        CompletableFuture.supplyAsync(
            () -> {
              try {
                return KafkaRollouts.learn(
                    config,
                    KafkaRollouts.Settings.of(bootstrap),
                    dir.resolve("sft"),
                    dir.resolve("rm"),
                    dir.resolve("ppo"),
                    learnerLog.writer());
              } catch (Exception e) {
                throw new RuntimeException(e);
              }
            });
    try {
      learnerLog.await("learner: checkpoint v2 written", WAIT);
      early.stop(); // mid-run: the prompts it polled but did not answer go back to the group
      // the checkpoint's line comes before v2's transaction: a late actor caught up before it
      // commits would start from v1
      learnerLog.await("learner: published policy v2", WAIT);
      // with max_lag 0 the learner now waits for batch 2's rollouts, which only a new actor can
      // produce
      late =
          ActorNode.deploy(
              vertx, LocalLoop.settings("actor-late", bootstrap, config), models, log::line);
      log.await("actor-late: assigned prompt partitions", WAIT);
      var summary = learner.get(WAIT.toSeconds(), TimeUnit.SECONDS);

      assertThat(summary.rolloutsApplied()).isEqualTo(24);
      assertThat(firstApplied.get("actor-late"))
          .as("the late actor's first version")
          .isGreaterThanOrEqualTo(2L);
      var rollouts = StreamingLoopTest.readAll(bootstrap);
      Map<String, Long> byActor = new HashMap<>();
      rollouts.forEach(r -> byActor.merge(r.getActorId(), 1L, Long::sum));
      assertThat(byActor.get("actor-early")).as("rollouts by the first actor").isPositive();
      // the later batches, published after the first actor left, come from the late one alone
      assertThat(rollouts)
          .filteredOn(r -> Long.parseLong(r.getPromptId().split(":")[1]) >= 4)
          .hasSize(8)
          .allMatch(r -> r.getActorId().equals("actor-late"));
      assertThat(KafkaRollouts.appliedRolloutIds(dir.resolve("ppo")))
          .doesNotHaveDuplicates()
          .hasSize(24);
    } finally {
      if (late != null) late.stop();
      if (!early.ended().isDone()) early.stop();
      vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  @Test
  void aKilledActorProcessesPromptsAreAnsweredByASurvivorWithinSeconds(@TempDir Path dir)
      throws Exception {
    TinyRun.checkpoints(dir);
    var bootstrap = LoopBroker.fresh();
    var config = TinyRun.config(1, 0);
    ConfigLoader.save(config, dir.resolve("settings"));
    var vertx = ActorNode.newVertx();
    var watch = new Watch();
    var reward = RewardSource.of(config.reward(), dir.resolve("rm"));
    var models = RolloutActor.Models.load(dir.resolve("sft"), reward::loadUnchecked);
    Process doomed = null;
    ActorNode survivor = null;
    try (var feed = new LoopFeed(bootstrap);
        var policy = Gpt.create(TinyRun.SHAPE, 5);
        var rollouts = new TopicTail<>(bootstrap, Topics.ROLLOUTS, Rollout.class)) {
      feed.publishPolicy(policy, 0);
      survivor =
          ActorNode.deploy(
              vertx, LocalLoop.settings("actor-survivor", bootstrap, config), models, watch::line);
      watch.await("actor-survivor: assigned prompt partitions", WAIT);
      doomed = watch.rlhf(TinyRun.loopArgs("actor", bootstrap, dir, "--id", "actor-doomed"));
      // the rebalance gave the process some of the prompt partitions
      watch.await("actor-doomed: assigned prompt partitions", WAIT);
      var held = partitionsIn(lastLine(watch, "actor-doomed: assigned prompt partitions"));
      assertThat(held).isNotEmpty().hasSizeLessThan(Topics.PROMPT_PARTITIONS);

      int seen = watch.lines().size();
      doomed.destroyForcibly(); // SIGKILL: it cannot leave the group, its session has to expire
      long killed = System.nanoTime();
      var ids = promptIdsOnEveryPartition("after-kill", 2);
      feed.publishPrompts(ids);
      Watch.until(
          () ->
              watch.lines().subList(seen, watch.lines().size()).stream()
                  .filter(l -> l.startsWith("actor-survivor: assigned prompt partitions"))
                  .anyMatch(l -> partitionsIn(l).stream().anyMatch(held::contains)),
          "the killed actor's partitions at the survivor",
          HANDOVER_BOUND);
      long assigned = System.nanoTime();
      var answered =
          rollouts.until(
              r -> r.stream().map(x -> x.getPromptId().toString()).distinct().count() == ids.size(),
              "rollouts of every prompt published after the kill",
              WAIT);
      System.out.printf(
          "kill -9 to the survivor's assignment %d ms, to every prompt answered %d ms%n",
          (assigned - killed) / 1_000_000, (System.nanoTime() - killed) / 1_000_000);
      assertThat(answered).allMatch(r -> r.getActorId().equals("actor-survivor"));
    } finally {
      if (doomed != null) doomed.destroyForcibly();
      if (survivor != null) survivor.stop();
      vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  @Test
  void anInProcessActorThatThrowsAnErrorIsReplacedAndTheRunCompletes(@TempDir Path dir)
      throws Exception {
    TinyRun.checkpoints(dir);
    var bootstrap = LoopBroker.fresh();
    var log = new Watch();
    var summary =
        LocalLoop.run(
            TinyRun.config(4, 0),
            2,
            KafkaAccess.plaintext(bootstrap),
            dir.resolve("sft"),
            dir.resolve("rm"),
            dir.resolve("ppo"),
            log.writer(),
            UnaryOperator.identity(),
            e -> {},
            failingScores(1));

    // with max_lag 0 the learner needs every prompt: the batch the failed actor was answering is
    // answered again, not lost with it
    assertThat(summary.rolloutsApplied()).isEqualTo(16);
    assertThat(KafkaRollouts.appliedRolloutIds(dir.resolve("ppo")))
        .doesNotHaveDuplicates()
        .hasSize(16);
    assertThat(log.lines())
        .anyMatch(l -> l.matches("ppo: actor-[01] failed: java.lang.OutOfMemoryError: injected;.*"))
        .anyMatch(l -> l.contains("(restart 1 of actor-"))
        .anyMatch(l -> l.endsWith("; 1 restart(s) of a failed actor"));
  }

  @Test
  void anActorThatKeepsFailingEndsTheRunInsteadOfRestartingForever(@TempDir Path dir)
      throws Exception {
    TinyRun.checkpoints(dir);
    var bootstrap = LoopBroker.fresh();
    var log = new Watch();
    assertThatThrownBy(
            () ->
                LocalLoop.run(
                    TinyRun.config(4, 0),
                    1,
                    KafkaAccess.plaintext(bootstrap),
                    dir.resolve("sft"),
                    dir.resolve("rm"),
                    dir.resolve("ppo"),
                    log.writer(),
                    UnaryOperator.identity(),
                    e -> {},
                    failingScores(Integer.MAX_VALUE)))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageStartingWith("actor-0 failed again after 3 restart(s) within 10 min, giving up:")
        .hasMessageEndingWith("actor-0 failed: java.lang.OutOfMemoryError: injected");
    assertThat(log.lines()).filteredOn(l -> l.contains("deploying a fresh actor-0")).hasSize(3);
  }

  /**
   * The run's models with a reward that throws an OutOfMemoryError instead of scoring, the first
   * {@code failures} times any actor scores (the reward model of {@link TinyRun} otherwise).
   */
  private static UnaryOperator<RolloutActor.Models> failingScores(int failures) {
    var left = new AtomicInteger(failures);
    return models ->
        new RolloutActor.Models(
            models.reference(),
            reference -> {
              var offline = (ActorReward.Offline) models.reward();
              var rewardModel = offline.load().apply(reference);
              return new RewardFunction() {
                @Override
                public NDArray scores(ScoringBatch batch) {
                  if (left.getAndDecrement() > 0) throw new OutOfMemoryError("injected");
                  return rewardModel.scores(batch);
                }

                @Override
                public void close() {
                  rewardModel.close();
                }
              };
            });
  }

  /** Ids of {@code perPartition} prompts for every prompt partition (the producer's key hash). */
  private static List<String> promptIdsOnEveryPartition(String prefix, int perPartition) {
    var counts = new int[Topics.PROMPT_PARTITIONS];
    var ids = new ArrayList<String>();
    for (int i = 0; ids.size() < perPartition * counts.length; i++) {
      var id = prefix + ":" + i;
      var key = id.getBytes(StandardCharsets.UTF_8);
      int partition = Utils.toPositive(Utils.murmur2(key)) % counts.length;
      if (counts[partition]++ < perPartition) ids.add(id);
    }
    return ids;
  }

  private static String lastLine(Watch watch, String prefix) {
    var lines = watch.lines();
    for (int i = lines.size() - 1; i >= 0; i--) {
      if (lines.get(i).startsWith(prefix)) return lines.get(i);
    }
    throw new AssertionError("no line starting with " + prefix);
  }

  /** The prompt partitions a line names, e.g. [rlhf.prompts-0, rlhf.prompts-3]. */
  private static Set<Integer> partitionsIn(String line) {
    var found = new HashSet<Integer>();
    var matcher = Pattern.compile(Pattern.quote(Topics.PROMPTS) + "-(\\d+)").matcher(line);
    while (matcher.find()) found.add(Integer.parseInt(matcher.group(1)));
    return found;
  }
}
