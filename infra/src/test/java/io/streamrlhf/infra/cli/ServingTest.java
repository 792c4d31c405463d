package io.streamrlhf.infra.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamrlhf.actors.LearnerMismatch;
import io.streamrlhf.actors.VerticleFailure;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * How a serving process ends, once its verticles ended: the exit code Rlhf.main passes to
 * System.exit, what it prints, and that it stopped (closed) what was still running first. The
 * verticles' side, an Error failing {@code ended()}, is ActorChurnTest's.
 */
class ServingTest {

  @Test
  void anErrorInAVerticleIsOneLineAndTheStackTraceThenTheRestStopsAndTheExitCodeIsOne() {
    var err = new StringWriter();
    var stops = new AtomicInteger();
    var ended = new CompletableFuture<Void>();
    ended.completeExceptionally(
        new VerticleFailure("actor-7", new OutOfMemoryError("Java heap space")));

    int code = Serving.await("actor", ended, stops::incrementAndGet, new PrintWriter(err, true));

    assertThat(code).isEqualTo(1);
    assertThat(stops).hasValue(1);
    var lines = err.toString().lines().toList();
    assertThat(lines.get(0))
        .isEqualTo("rlhf actor: actor-7 failed: java.lang.OutOfMemoryError: Java heap space");
    assertThat(lines.get(1)).isEqualTo("java.lang.OutOfMemoryError: Java heap space");
    assertThat(lines.get(2)).startsWith("\tat ");
  }

  @Test
  void aTopicTheKafkaUserMayNotReadIsTheUsersToMendInOneLineWithExitCodeTwo() {
    var err = new StringWriter();
    var stops = new AtomicInteger();
    var ended = new CompletableFuture<Void>();
    ended.completeExceptionally(
        new VerticleFailure(
            "labelers",
            new org.apache.kafka.common.errors.TopicAuthorizationException(
                java.util.Set.of("rlhf.label-requests"))));

    int code = Serving.await("labelers", ended, stops::incrementAndGet, new PrintWriter(err, true));

    assertThat(code).isEqualTo(2);
    assertThat(stops).hasValue(1);
    assertThat(err.toString().lines().toList())
        .singleElement()
        .asString()
        .startsWith(
            "rlhf labelers: labelers: the Kafka cluster does not allow this user what this command"
                + " needs (topics rlhf.label-requests): log in with the --kafka-config file");
  }

  @Test
  void aGiveUpIsOneLineWithoutAStackTrace() {
    var err = new StringWriter();
    var ended = new CompletableFuture<Void>();
    ended.completeExceptionally(
        new VerticleFailure(
            "actor-7",
            new IllegalStateException(
                "actor-7: gave up after 600 s waiting for policy v3 for 2 queued prompt(s)")));

    int code = Serving.await("actor", ended, () -> {}, new PrintWriter(err, true));

    assertThat(code).isEqualTo(1);
    assertThat(err.toString().strip())
        .isEqualTo(
            "rlhf actor: actor-7: gave up after 600 s waiting for policy v3 for 2 queued"
                + " prompt(s)");
  }

  @Test
  void anActorScoringOtherwiseThanItsLearnerIsTheUsersMistakeAndExitsTwo() {
    // a supervisor restarts on 1: with the same flags the actor would refuse the policy again
    var err = new StringWriter();
    var stops = new AtomicInteger();
    var ended = new CompletableFuture<Void>();
    ended.completeExceptionally(
        new VerticleFailure(
            "actor-7",
            new LearnerMismatch(
                "policy v0 comes from a learner trained against --reward oracle, and this actor"
                    + " scores with --reward model: start the actor with the learner's --reward")));

    int code = Serving.await("actor", ended, stops::incrementAndGet, new PrintWriter(err, true));

    assertThat(code).isEqualTo(2);
    assertThat(stops).hasValue(1);
    assertThat(err.toString().strip())
        .isEqualTo(
            "rlhf actor: actor-7: policy v0 comes from a learner trained against --reward oracle,"
                + " and this actor scores with --reward model: start the actor with the learner's"
                + " --reward");
  }

  @Test
  void aStopThatEndsTheVerticlesIsExitCodeZeroWithNothingPrinted() {
    var err = new StringWriter();
    var stops = new AtomicInteger();
    int code =
        Serving.await(
            "labelers",
            CompletableFuture.completedFuture(null),
            stops::incrementAndGet,
            new PrintWriter(err, true));

    assertThat(code).isZero();
    assertThat(stops).hasValue(0); // the shutdown hook that ended them stopped them
    assertThat(err.toString()).isEmpty();
  }
}
