package io.streamrlhf.infra.stream;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamrlhf.actors.ActorNode;
import io.streamrlhf.actors.RolloutActor;
import io.streamrlhf.infra.kafka.EmbeddedKafka;
import io.streamrlhf.infra.kafka.TopicProvisioner;
import io.streamrlhf.learner.config.ConfigLoader;
import io.streamrlhf.learner.ppo.RewardSource;
import io.streamrlhf.model.Gpt;
import io.streamrlhf.schemas.Topics;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Kafka gives each prompt partition to one actor of the group: the learner creates {@code
 * rlhf.prompts} with its prompt_partitions so more actors can sample, a topic found keeps its own,
 * and an actor left without a partition says so instead of idling silently.
 */
class PromptPartitionsTest {
  private static final Duration WAIT = Duration.ofSeconds(60);

  @Test
  void theLearnerCreatesThePromptTopicWithItsPartitionsAndATopicFoundKeepsItsOwn()
      throws Exception {
    try (var kafka = EmbeddedKafka.start()) {
      var two = ConfigLoader.with(TinyRun.config(1, 0), "prompt_partitions=2");
      var first = new StringWriter();
      LocalLoop.provisionTopics(kafka.access(), two, 2, "learner", new PrintWriter(first));
      assertThat(TopicProvisioner.partitions(kafka.access(), Topics.PROMPTS, WAIT)).isEqualTo(2);
      assertThat(first.toString()).isEmpty();

      // an actor provisions with the default 4 partitions: it waits only for the 2 there are
      assertThat(TopicProvisioner.provision(kafka.access(), WAIT)).isEmpty();
      assertThat(TopicProvisioner.partitions(kafka.access(), Topics.PROMPTS, WAIT)).isEqualTo(2);

      var six = ConfigLoader.with(TinyRun.config(1, 0), "prompt_partitions=6");
      var again = new StringWriter();
      LocalLoop.provisionTopics(kafka.access(), six, 3, "ppo", new PrintWriter(again));
      assertThat(again.toString().lines())
          .containsExactly(
              "ppo: rlhf.prompts already exists with 2 partition(s); prompt_partitions 6 applies"
                  + " only to a topic that does not exist yet",
              "ppo: 3 actors share rlhf.prompts's 2 partition(s): 1 of them will get no prompt"
                  + " (Kafka gives each partition to one member of the group); set"
                  + " prompt_partitions=3 on a fresh cluster");
    }
  }

  @Test
  void rolesThatNeverTouchPromptsLeaveTheTopicToTheLearner() throws Exception {
    try (var kafka = EmbeddedKafka.start()) {
      // a reward trainer, the labelers or the gateway started first on a fresh cluster
      assertThat(TopicProvisioner.provisionAllButPrompts(kafka.access(), WAIT))
          .isNotEmpty()
          .doesNotContain(Topics.PROMPTS);
      var eight = ConfigLoader.with(TinyRun.config(1, 0), "prompt_partitions=8");
      var out = new StringWriter();
      LocalLoop.provisionTopics(kafka.access(), eight, 8, "learner", new PrintWriter(out));
      assertThat(TopicProvisioner.partitions(kafka.access(), Topics.PROMPTS, WAIT)).isEqualTo(8);
      assertThat(out.toString()).isEmpty();
    }
  }

  @Test
  void anActorWithoutAPromptPartitionSaysSoAndTakesOneWhenItsHolderLeaves(@TempDir Path dir)
      throws Exception {
    TinyRun.checkpoints(dir);
    var bootstrap = LoopBroker.fresh(1);
    var config = TinyRun.config(1, 0);
    var vertx = ActorNode.newVertx();
    var watch = new Watch();
    var models =
        RolloutActor.Models.load(
            dir.resolve("sft"), RewardSource.of(config.reward(), dir.resolve("rm"))::loadUnchecked);
    ActorNode a = null;
    ActorNode b = null;
    try (var feed = new LoopFeed(bootstrap);
        var policy = Gpt.create(TinyRun.SHAPE, 5)) {
      feed.publishPolicy(policy, 0);
      a =
          ActorNode.deploy(
              vertx, LocalLoop.settings("actor-a", bootstrap, config), models, watch::line);
      watch.await("actor-a: assigned prompt partitions [rlhf.prompts-0]", WAIT);
      b =
          ActorNode.deploy(
              vertx, LocalLoop.settings("actor-b", bootstrap, config), models, watch::line);
      // the group rebalances: one of the two holds the only partition, the other says it has none
      watch.await(l -> l.contains(": no prompt partition for this actor"), "an idle actor", WAIT);
      var idle = watch.lines().stream().filter(l -> l.contains(": no prompt partition")).toList();
      assertThat(idle).hasSize(1);
      boolean aIdle = idle.get(0).startsWith("actor-a:");
      var assigned =
          (aIdle ? "actor-a" : "actor-b") + ": assigned prompt partitions [rlhf.prompts-0]";
      long before = watch.lines().stream().filter(assigned::equals).count();

      if (aIdle) {
        b.stop();
        b = null;
      } else {
        a.stop();
        a = null;
      }
      Watch.until(
          () -> watch.lines().stream().filter(assigned::equals).count() > before,
          "the partition at the actor that had none",
          WAIT);
    } finally {
      if (a != null) a.stop();
      if (b != null) b.stop();
      vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }
}
