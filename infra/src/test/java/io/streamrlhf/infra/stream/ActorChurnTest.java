package io.streamrlhf.infra.stream;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamrlhf.actors.ActorEvents;
import io.streamrlhf.actors.ActorNode;
import io.streamrlhf.actors.RolloutActor;
import io.streamrlhf.learner.ppo.RewardSource;
import io.streamrlhf.learner.stream.KafkaRollouts;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collections;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Actors come and go mid-run: the only actor is stopped after update 2, and one that joins then
 * receives the prompts after the rebalance (including those the first one had polled but not
 * answered) and starts from the newest weights. No prompt is lost for good: with max_lag 0 the
 * learner needs every prompt of every batch, so a lost one would stall it.
 */
class ActorChurnTest {
  private static final Duration WAIT = Duration.ofSeconds(120);

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
}
