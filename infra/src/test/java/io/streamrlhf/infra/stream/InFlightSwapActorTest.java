package io.streamrlhf.infra.stream;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamrlhf.actors.ActorEvents;
import io.streamrlhf.actors.ActorNode;
import io.streamrlhf.actors.ActorSettings;
import io.streamrlhf.actors.RolloutActor;
import io.streamrlhf.actors.WeightSwap;
import io.streamrlhf.model.Gpt;
import io.streamrlhf.model.RewardModel;
import io.streamrlhf.schemas.RecordChecks;
import io.streamrlhf.schemas.Rollout;
import io.streamrlhf.schemas.Topics;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;

/**
 * An actor that swaps policy weights in flight ({@code --swap in-flight}) tags each response token
 * with the version that sampled it: a batch begun on v0 that took v1 before decode step 1 and v2
 * before step 2 answers with token versions [0, 1, 2, 2, ...], and each rollout is stamped with the
 * oldest, v0, where RecordChecks requires the token versions to start and staleness bounds read.
 *
 * <p>The swaps are placed, not raced: the actor says "policy vN applied" on its own thread, and the
 * test, called there, publishes vN+1 and returns only once the actor's weight subscriber has handed
 * it over. So v1 waits in the actor's mailbox from before the batch's first token, and v2 from
 * before its second.
 */
class InFlightSwapActorTest {
  private static final Duration WAIT = Duration.ofSeconds(60);

  @Test
  void tokensSampledBeforeAnInFlightSwapKeepTheVersionThatSampledThem() throws Exception {
    var bootstrap = LoopBroker.fresh();
    var vertx = ActorNode.newVertx();
    var received = new LinkedBlockingQueue<Long>(); // versions the subscriber handed over
    vertx
        .eventBus()
        .<JsonObject>consumer(ActorEvents.RECEIVED, m -> received.add(m.body().getLong("version")))
        .completion()
        .toCompletionStage()
        .toCompletableFuture()
        .get(30, TimeUnit.SECONDS);
    var watch = new Watch();
    try (var feed = new LoopFeed(bootstrap);
        var rollouts = new TopicTail<>(bootstrap, Topics.ROLLOUTS, Rollout.class);
        var v0 = Gpt.create(TinyRun.SHAPE, 5);
        var v1 = Gpt.create(TinyRun.SHAPE, 6);
        var v2 = Gpt.create(TinyRun.SHAPE, 7)) {
      var policies = List.of(v0, v1, v2);
      Consumer<String> log =
          line -> {
            watch.line(line);
            for (int v = 0; v < 2; v++) {
              if (line.startsWith("actor-s: policy v" + v + " applied"))
                publishAndAwait(feed, policies.get(v + 1), v + 1, received);
            }
          };
      // the prompts first, so that the actor holds both when v0 comes
      feed.publishPrompts(List.of("swap:0:0", "swap:0:1"));
      var models =
          new RolloutActor.Models(
              () -> Gpt.create(TinyRun.SHAPE, 1),
              reference -> RewardModel.headOnly(Gpt.create(TinyRun.SHAPE, 2)));
      var node =
          ActorNode.deploy(
              vertx,
              ActorSettings.of("actor-s", bootstrap, 2, 8, 1.0)
                  .withSwap(WeightSwap.IN_FLIGHT)
                  .withLogEveryVersions(1),
              models,
              log);
      try {
        // both prompts queued, no policy yet: said after the actor's first 10 s of waiting
        watch.await("actor-s: 2 prompt(s) need policy v0, holding none", WAIT);
        feed.publishPolicy(v0, 0);
        var read = rollouts.until(r -> r.size() == 4, "2 prompts x 2 rollouts", WAIT);

        assertThat(watch.lines())
            .anyMatch(l -> l.startsWith("actor-s: policy v1 applied") && l.endsWith("mid-batch)"))
            .anyMatch(l -> l.startsWith("actor-s: policy v2 applied") && l.endsWith("mid-batch)"));
        for (var r : read) {
          // token 0 by v0, token 1 by v1, the rest by v2 (a shorter answer: a prefix of that)
          var expected =
              LongStream.range(0, r.getResponseTokens().size())
                  .map(t -> Math.min(t, 2))
                  .boxed()
                  .toList();
          assertThat(r.getTokenVersions()).as(r.getRolloutId()).isEqualTo(expected);
          assertThat(r.getPolicyVersion()).as(r.getRolloutId()).isZero();
          assertThat(RecordChecks.ROLLOUT.problem(r)).as(r.getRolloutId()).isEmpty();
        }
        assertThat(read)
            .as("an answer that outlived both swaps")
            .anyMatch(r -> r.getResponseTokens().size() >= 3);
      } finally {
        node.stop();
      }
    } finally {
      vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  /** Publishes {@code version}; returns once the actor's subscriber has handed it over. */
  private static void publishAndAwait(
      LoopFeed feed, Gpt policy, long version, BlockingQueue<Long> received) {
    feed.publishPolicy(policy, version);
    long deadline = System.nanoTime() + WAIT.toNanos();
    try {
      Long got;
      do {
        got = received.poll(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
        if (got == null) throw new AssertionError("v" + version + " not handed over in " + WAIT);
      } while (got != version);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
