package io.streamrlhf.infra.stream;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamrlhf.learner.config.ConfigLoader;
import io.streamrlhf.learner.stream.KafkaRollouts;
import io.streamrlhf.learner.stream.StreamStats;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * stream-stats.json's idle fractions on a real loop: a learner whose only actor is stopped
 * (SIGSTOP) while it needs the next batch spends most of its window waiting, and says so.
 */
class IdleFractionsLoopTest {
  private static final Duration WAIT = Duration.ofSeconds(120);

  /** The fault: far longer than a tiny update, checkpoint and publish together. */
  private static final Duration STOPPED = Duration.ofSeconds(4);

  @Test
  void aLearnerStarvedByAStoppedActorIsMostlyIdle(@TempDir Path dir) throws Exception {
    TinyRun.checkpoints(dir);
    var bootstrap = LoopBroker.fresh();
    var config = TinyRun.config(2, 0); // synchronous: batch 1 needs v1, so the actor waits for it
    ConfigLoader.save(config, dir.resolve("settings"));
    var out = dir.resolve("ppo");
    var watch = new Watch();
    var actor = watch.rlhf(TinyRun.loopArgs("actor", bootstrap, dir, "--id", "actor-0"));
    try {
      var learned =
          CompletableFuture.supplyAsync(
              () -> {
                try {
                  return KafkaRollouts.learn(
                      config,
                      KafkaRollouts.Settings.of(bootstrap),
                      dir.resolve("sft"),
                      dir.resolve("rm"),
                      out,
                      watch.writer());
                } catch (Exception e) {
                  throw new IllegalStateException(e);
                }
              });
      // update 1 is computed; until its weights are published the actor has nothing to do
      watch.await("learner: update 1/2", WAIT);
      signal("STOP", actor.pid());
      try {
        long stopped = System.nanoTime();
        Watch.until(
            () -> System.nanoTime() - stopped > STOPPED.toNanos() || learned.isDone(),
            "the fault's duration",
            STOPPED.plusSeconds(10));
      } finally {
        signal("CONT", actor.pid());
      }
      var summary = learned.get(WAIT.toSeconds(), TimeUnit.SECONDS);
      assertThat(StreamStats.Summary.read(out)).isEqualTo(summary);
      assertThat(summary.learnerIdleFraction()).isBetween(0.5, 1.0);
      assertThat(summary.actorIdleFraction()).isBetween(0.0, 1.0);
      assertThat(summary.line()).contains("idle: learner");
    } finally {
      // SIGTERM: the actor leaves its consumer group now, so the next test's broker reset finds
      // it empty (a SIGKILLed member stays until its session times out)
      actor.destroy();
      if (!actor.waitFor(30, TimeUnit.SECONDS)) actor.destroyForcibly().waitFor();
    }
  }

  private static void signal(String name, long pid) throws Exception {
    var kill = new ProcessBuilder("kill", "-" + name, Long.toString(pid)).inheritIO().start();
    assertThat(kill.waitFor(10, TimeUnit.SECONDS)).isTrue();
    assertThat(kill.exitValue()).isZero();
  }
}
