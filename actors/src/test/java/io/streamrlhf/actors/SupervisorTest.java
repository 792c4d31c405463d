package io.streamrlhf.actors;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The supervisor's rules with parts that fail on command: a failed part is stopped and a fresh one
 * deployed under its name; one that keeps failing is given up on after the budget; closing stops
 * what runs and restarts nothing more. (ActorChurnTest runs it with real actors and a learner.)
 */
class SupervisorTest {
  private static final Duration WAIT = Duration.ofSeconds(10);

  /** A part that ends when the test fails or stops it. */
  private static final class FakePart implements Supervisor.Part {
    final CompletableFuture<Void> ended = new CompletableFuture<>();
    final AtomicInteger stops = new AtomicInteger();

    @Override
    public CompletableFuture<Void> ended() {
      return ended;
    }

    @Override
    public void stop() {
      stops.incrementAndGet();
      ended.complete(null);
    }

    void fail() {
      ended.completeExceptionally(
          new VerticleFailure("actor-1", new OutOfMemoryError("Java heap space")));
    }
  }

  private final List<FakePart> deployed = Collections.synchronizedList(new ArrayList<>());
  private final List<String> log = Collections.synchronizedList(new ArrayList<>());

  private FakePart deploy() {
    var part = new FakePart();
    deployed.add(part);
    return part;
  }

  @Test
  void aFailedPartIsStoppedAndAFreshOneDeployedUnderItsName() throws Exception {
    try (var supervisor = new Supervisor("ppo", log::add)) {
      var first = supervisor.start("actor-1", this::deploy);

      first.fail();
      awaitDeployed(2);

      assertThat(first.stops).hasValue(1);
      assertThat(supervisor.restarts()).isEqualTo(1);
      assertThat(supervisor.gaveUp()).isNotDone();
      assertThat(log)
          .anyMatch(
              l ->
                  l.startsWith(
                      "ppo: actor-1 failed: java.lang.OutOfMemoryError: Java heap space;"
                          + " deploying a fresh actor-1 with new Kafka clients (restart 1 of"
                          + " actor-1 within 10 min, at most 3)"))
          .anyMatch(l -> l.startsWith("java.lang.OutOfMemoryError: Java heap space"));
    }
    assertThat(deployed.get(1).stops).as("closing stops the fresh one").hasValue(1);
  }

  @Test
  void aPartThatKeepsFailingIsGivenUpOnAfterItsRestartsWithinTheWindow() throws Exception {
    try (var supervisor = new Supervisor("ppo", log::add, 2, Duration.ofMinutes(10))) {
      supervisor.start("actor-1", this::deploy);
      for (int restarts = 0; restarts < 2; restarts++) {
        deployed.get(restarts).fail();
        awaitDeployed(restarts + 2);
      }
      deployed.get(2).fail();

      var gaveUp = supervisor.gaveUp().handle((ok, e) -> e).get(WAIT.toSeconds(), TimeUnit.SECONDS);
      assertThat(gaveUp)
          .isInstanceOf(IllegalStateException.class)
          .hasMessage(
              "actor-1 failed again after 2 restart(s) within 10 min, giving up: actor-1 failed:"
                  + " java.lang.OutOfMemoryError: Java heap space");
      assertThat(deployed).hasSize(3);
      assertThat(supervisor.restarts()).isEqualTo(2);
    }
  }

  @Test
  void restartsOlderThanTheWindowDoNotCount() throws Exception {
    try (var supervisor = new Supervisor("ppo", log::add, 1, Duration.ZERO)) {
      supervisor.start("actor-1", this::deploy);
      for (int restarts = 0; restarts < 3; restarts++) {
        deployed.get(restarts).fail();
        awaitDeployed(restarts + 2);
      }
      assertThat(supervisor.gaveUp()).isNotDone();
      assertThat(supervisor.restarts()).isEqualTo(3);
    }
  }

  @Test
  void aFreshCopyThatDoesNotStartCountsAsAnotherFailure() throws Exception {
    var attempts = new AtomicInteger();
    try (var supervisor = new Supervisor("ppo", log::add, 3, Duration.ofMinutes(10))) {
      var first =
          supervisor.start(
              "actor-1",
              () -> {
                if (attempts.getAndIncrement() == 1)
                  throw new IllegalStateException("actor-1 rollout actor failed: no model");
                return deploy();
              });
      first.fail();
      awaitDeployed(2);

      assertThat(attempts).hasValue(3);
      assertThat(supervisor.restarts()).isEqualTo(2);
      assertThat(log)
          .contains("ppo: actor-1 did not start again: actor-1 rollout actor failed: no model");
    }
  }

  @Test
  void afterCloseAFailureRestartsNothing() throws Exception {
    var supervisor = new Supervisor("ppo", log::add);
    var first = supervisor.start("actor-1", this::deploy);
    supervisor.close();

    first.fail(); // stopped already: its end is normal, nothing to restart

    assertThat(first.stops).hasValue(1);
    assertThat(deployed).hasSize(1);
    assertThat(supervisor.restarts()).isZero();
  }

  private void awaitDeployed(int count) throws InterruptedException, ExecutionException {
    long deadline = System.nanoTime() + WAIT.toNanos();
    while (deployed.size() < count) {
      if (System.nanoTime() > deadline)
        throw new AssertionError(count + " deployments not within " + WAIT + "; log: " + log);
      Thread.sleep(5); // polling a condition with a deadline
    }
  }
}
