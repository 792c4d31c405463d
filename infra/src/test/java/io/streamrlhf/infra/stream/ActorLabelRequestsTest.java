package io.streamrlhf.infra.stream;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamrlhf.actors.ActorEvents;
import io.streamrlhf.actors.ActorNode;
import io.streamrlhf.actors.ActorSettings;
import io.streamrlhf.actors.LabelRequests;
import io.streamrlhf.actors.RolloutActor;
import io.streamrlhf.learner.config.PpoConfig;
import io.streamrlhf.model.ByteTokenizer;
import io.streamrlhf.model.Gpt;
import io.streamrlhf.schemas.LabelRequest;
import io.streamrlhf.schemas.Rollout;
import io.streamrlhf.schemas.Topics;
import io.vertx.core.json.JsonObject;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An actor asks for the configured share of its prompts to be ranked: which prompts is a function
 * of the prompt id, each request holds K_label answers of distinct sample indices (the rollouts'
 * own K first, then fresh ones), and names the versions that produced them.
 */
class ActorLabelRequestsTest {
  private static final Duration WAIT = Duration.ofSeconds(90);

  @Test
  void anActorAsksForTheConfiguredShareOfPromptsWithKLabelAnswersAndTheirVersions(@TempDir Path dir)
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
    // K = 2 rollouts per prompt, K_label = 4 answers per request: two beyond the rollouts
    var settings =
        ActorSettings.of("actor-l", bootstrap, 2, 16, 1.0)
            .withMaxPromptsPerBatch(8)
            .withLabelRequests(0.5, 4);
    var models =
        RolloutActor.Models.load(
            dir.resolve("sft"), LocalLoop.actorReward(PpoConfig.REWARD_MODEL, dir.resolve("rm")));
    var node = ActorNode.deploy(vertx, settings, models, watch::line);
    var prompts = IntStream.range(0, 40).mapToObj(i -> "t:0:" + i).toList();
    try (var feed = new LoopFeed(bootstrap);
        var policy = Gpt.create(TinyRun.SHAPE, 5);
        var rollouts = new TopicTail<>(bootstrap, Topics.ROLLOUTS, Rollout.class);
        var requests = new TopicTail<>(bootstrap, Topics.LABEL_REQUESTS, LabelRequest.class)) {
      feed.publishPolicy(policy, 0);
      Watch.until(() -> applied.contains(0L), "policy v0 applied", WAIT);
      feed.publishPrompts(prompts);

      var answered = rollouts.until(r -> r.size() >= 80, "80 rollouts", WAIT);
      var asked = prompts.stream().filter(id -> LabelRequests.asks(id, 0.5)).toList();
      assertThat(asked).as("a share, neither none nor all").hasSizeBetween(8, 32);
      requests.until(r -> r.size() >= asked.size(), asked.size() + " label requests", WAIT);
      var received = requests.toEnd(WAIT);

      assertThat(received)
          .extracting(LabelRequest::getPromptId)
          .containsExactlyInAnyOrderElementsOf(asked);
      var byPrompt = new HashMap<String, List<Rollout>>();
      for (var r : answered)
        byPrompt.computeIfAbsent(r.getPromptId(), k -> new ArrayList<>()).add(r);
      for (var request : received) {
        assertThat(request.getRequestId())
            .isEqualTo(LabelRequests.requestId(request.getPromptId()));
        assertThat(request.getPromptText()).isEqualTo(LoopFeed.promptText(request.getPromptId()));
        assertThat(request.getPolicyVersion()).isZero();
        assertThat(request.getRewardVersion()).isZero();
        assertThat(request.getActorId()).isEqualTo("actor-l");
        var texts = request.getResponses();
        assertThat(texts).hasSize(4).doesNotHaveDuplicates(); // four sample indices, four draws
        var own = byPrompt.get(request.getPromptId());
        for (var rollout : own) {
          assertThat(texts.get(rollout.getSampleIndex()))
              .as("answer %d is the rollout's", rollout.getSampleIndex())
              .isEqualTo(ByteTokenizer.decode(ints(rollout)));
        }
      }
      // every rollout was scored by the reward model of --rm, v0, and says with what statistics
      assertThat(answered)
          .allSatisfy(
              r -> {
                assertThat(r.getRewardVersion()).isZero();
                assertThat(r.getRewardMean()).isEqualTo(0f);
                assertThat(r.getRewardStd()).isEqualTo(1f);
                assertThat(r.getRewardLikelihoodWeight()).isEqualTo(0f);
              });
    } finally {
      node.stop();
      vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  private static int[] ints(Rollout r) {
    return r.getResponseTokens().stream().mapToInt(Integer::intValue).toArray();
  }
}
