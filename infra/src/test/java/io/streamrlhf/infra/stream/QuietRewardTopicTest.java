package io.streamrlhf.infra.stream;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamrlhf.actors.ActorNode;
import io.streamrlhf.actors.ActorReward;
import io.streamrlhf.actors.ActorSettings;
import io.streamrlhf.actors.RewardScale;
import io.streamrlhf.actors.RolloutActor;
import io.streamrlhf.infra.kafka.EmbeddedKafka;
import io.streamrlhf.infra.kafka.TopicProvisioner;
import io.streamrlhf.model.Gpt;
import io.streamrlhf.model.RewardModel;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * An actor that scores with an offline reward model says nothing about a silent reward-model topic
 * (no reward trainer may ever run), while it does say so about a silent policy topic, and an actor
 * that waits for a live reward model says so about both.
 */
class QuietRewardTopicTest {
  private static final Duration WAIT = Duration.ofSeconds(60);

  @Test
  void silenceOnTheRewardTopicIsNewsOnlyToAnActorWaitingForItsFirstVersion() throws Exception {
    try (var kafka = EmbeddedKafka.start()) {
      TopicProvisioner.provision(kafka.access(), WAIT);
      var vertx = ActorNode.newVertx();
      var watch = new Watch();
      var offline =
          new RolloutActor.Models(
              () -> Gpt.create(TinyRun.SHAPE, 1),
              new ActorReward.Offline(
                  reference -> RewardModel.headOnly(Gpt.create(TinyRun.SHAPE, 2)),
                  new RewardScale(0, 1, 0)));
      var live =
          new RolloutActor.Models(() -> Gpt.create(TinyRun.SHAPE, 1), new ActorReward.Live());
      var quiet = Duration.ofSeconds(1);
      var a =
          ActorNode.deploy(vertx, settings("actor-offline", kafka, quiet), offline, watch::line);
      var b = ActorNode.deploy(vertx, settings("actor-live", kafka, quiet), live, watch::line);
      try {
        // by then the offline actor's reward subscriber has been as quiet as its policy one, twice
        watch.await(
            l -> l.startsWith("actor-offline: no new policy version for 1 s"),
            "the offline actor's policy silence",
            WAIT);
        long policyLines =
            watch.lines().stream()
                .filter(l -> l.startsWith("actor-offline: no new policy version"))
                .count();
        watch.await(
            l -> l.startsWith("actor-live: no new reward model version for 1 s"),
            "the live actor's reward silence",
            WAIT);
        Watch.until(
            () ->
                watch.lines().stream()
                        .filter(l -> l.startsWith("actor-offline: no new policy version"))
                        .count()
                    > policyLines,
            "a second policy silence",
            WAIT);
      } finally {
        a.stop();
        b.stop();
        vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
      }
      assertThat(watch.lines()).noneMatch(l -> l.startsWith("actor-offline: no new reward model"));
    }
  }

  private static ActorSettings settings(String id, EmbeddedKafka kafka, Duration quiet) {
    return ActorSettings.of(id, kafka.access(), 1, 8, 1.0).withQuietLog(quiet);
  }
}
