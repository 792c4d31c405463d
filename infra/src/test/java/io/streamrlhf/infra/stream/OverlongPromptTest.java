package io.streamrlhf.infra.stream;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamrlhf.actors.ActorEvents;
import io.streamrlhf.actors.ActorNode;
import io.streamrlhf.actors.ActorSettings;
import io.streamrlhf.actors.RolloutActor;
import io.streamrlhf.learner.config.PpoConfig;
import io.streamrlhf.model.Gpt;
import io.streamrlhf.schemas.AvroCodec;
import io.streamrlhf.schemas.DeadLetter;
import io.streamrlhf.schemas.Prompt;
import io.streamrlhf.schemas.Rollout;
import io.streamrlhf.schemas.Topics;
import io.streamrlhf.schemas.transport.KafkaClientConfigs;
import io.vertx.core.json.JsonObject;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashSet;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A prompt longer than the model's context leaves room for is dead-lettered by the actor that reads
 * it, with the reason, and the actor answers the prompts after it: it does not fail its batch,
 * stop, and hand the prompt to the next actor of the group to fail in turn.
 */
class OverlongPromptTest {
  private static final Duration WAIT = Duration.ofSeconds(90);

  @Test
  void anActorDeadLettersAPromptTooLongForItsContextAndAnswersTheRest(@TempDir Path dir)
      throws Exception {
    TinyRun.checkpoints(dir);
    var bootstrap = LoopBroker.fresh();
    var vertx = ActorNode.newVertx();
    var watch = new Watch();
    var applied = new HashSet<Long>();
    vertx
        .eventBus()
        .<JsonObject>consumer(
            ActorEvents.APPLIED,
            m -> {
              synchronized (applied) {
                applied.add(m.body().getLong("version"));
              }
            });
    var settings = ActorSettings.of("actor-o", bootstrap, 2, 16, 1.0).withMaxPromptsPerBatch(8);
    var models =
        RolloutActor.Models.load(
            dir.resolve("sft"), LocalLoop.actorReward(PpoConfig.REWARD_MODEL, dir.resolve("rm")));
    var node = ActorNode.deploy(vertx, settings, models, watch::line);
    // 250 prompt tokens + 16 new ones: more than the context of 256
    var overlong = "Reverse " + "x".repeat(240) + ".\n";
    var prompts =
        List.of(
            prompt("t:0:0", "Reverse cat.\n"),
            prompt("t:0:1", overlong),
            prompt("t:0:2", "Reverse dog.\n"),
            prompt("t:0:3", "Reverse owl.\n"));
    try (var feed = new LoopFeed(bootstrap);
        var policy = Gpt.create(TinyRun.SHAPE, 5);
        var producer =
            new KafkaProducer<byte[], byte[]>(KafkaClientConfigs.producer(bootstrap, "test"));
        var rollouts = new TopicTail<>(bootstrap, Topics.ROLLOUTS, Rollout.class);
        var letters = new TopicTail<>(bootstrap, Topics.DEAD_LETTER, DeadLetter.class)) {
      feed.publishPolicy(policy, 0);
      Watch.until(() -> applied.contains(0L), "policy v0 applied", WAIT);
      var codec = AvroCodec.of(Prompt.class);
      for (var p : prompts) {
        // one partition, so the overlong prompt is read between the others
        producer
            .send(
                new ProducerRecord<>(
                    Topics.PROMPTS,
                    0,
                    p.getPromptId().getBytes(StandardCharsets.UTF_8),
                    codec.encode(p)))
            .get(30, TimeUnit.SECONDS);
      }

      var answered = rollouts.until(r -> r.size() >= 6, "6 rollouts", WAIT);
      var dead = letters.until(l -> !l.isEmpty(), "a dead letter", WAIT);

      assertThat(answered)
          .extracting(Rollout::getPromptId)
          .containsOnly("t:0:0", "t:0:2", "t:0:3")
          .hasSize(6);
      assertThat(dead)
          .singleElement()
          .satisfies(
              letter -> {
                assertThat(letter.getError())
                    .isEqualTo(
                        "invalid Prompt: 250 prompt tokens + 16 new tokens exceed the model's"
                            + " context of 256");
                assertThat(letter.getTopic()).isEqualTo(Topics.PROMPTS);
                assertThat(letter.getConsumer()).isEqualTo("actor-o");
                var raw = new byte[letter.getValue().remaining()];
                letter.getValue().duplicate().get(raw);
                assertThat(codec.decode(raw).getText()).isEqualTo(overlong);
              });
      assertThat(node.ended()).isNotDone();
    } finally {
      node.stop();
      vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  private static Prompt prompt(String id, String text) {
    return Prompt.newBuilder()
        .setPromptId(id)
        .setText(text)
        .setCreatedAt(Instant.now())
        .setMinPolicyVersion(0)
        .setSamplingSeed(id.hashCode())
        .build();
  }
}
