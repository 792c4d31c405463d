package io.streamrlhf.infra.stream;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamrlhf.actors.ActorNode;
import io.streamrlhf.infra.cli.Rlhf;
import io.streamrlhf.learner.config.ConfigLoader;
import io.streamrlhf.learner.config.PpoConfig;
import io.streamrlhf.learner.ppo.PpoLoop;
import io.streamrlhf.learner.stream.KafkaRollouts;
import io.streamrlhf.learner.train.InputError;
import io.streamrlhf.learner.train.TrainState;
import io.streamrlhf.model.checkpoint.Checkpoint;
import io.streamrlhf.model.checkpoint.OutputLock;
import io.streamrlhf.schemas.Prompt;
import io.streamrlhf.schemas.PublishedWeights;
import io.streamrlhf.schemas.Topics;
import io.streamrlhf.schemas.WeightChunk;
import io.streamrlhf.schemas.transport.KafkaAccess;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One learner per run: on one machine the output directory's lock refuses a second learner at once;
 * across machines Kafka's producer fencing stops the older learner of a run before it publishes
 * another weight version.
 */
class OneLearnerPerRunTest {
  private static final Duration WAIT = Duration.ofSeconds(120);

  @Test
  void aSecondLearnerOfTheRunFencesTheFirstWhoseNextVersionNoActorSees(@TempDir Path dir)
      throws Exception {
    TinyRun.checkpoints(dir);
    var bootstrap = LoopBroker.fresh();
    var config = TinyRun.config(3, 0);
    var zombieOut = dir.resolve("zombie");
    var zombieLog = new Watch();
    var zombie = learnAsync(config, bootstrap, dir, zombieOut, zombieLog);
    // checkpoint v0 written, v0 and prompt batch 0 published; no actor yet, so it waits there
    zombieLog.await("learner: published policy v0", WAIT);
    try (var prompts = new TopicTail<>(bootstrap, Topics.PROMPTS, Prompt.class)) {
      prompts.until(read -> read.size() == 2, "prompt batch 0", WAIT);
    }

    // the same run resumed elsewhere, from a copy of its checkpoint (another machine's disk)
    var takeoverOut = TinyRun.copy(zombieOut, dir.resolve("takeover"));
    var takeoverLog = new Watch();
    var takeover = learnAsync(config, bootstrap, dir, takeoverOut, takeoverLog);
    takeoverLog.await("learner: resumed run", WAIT);

    var vertx = ActorNode.newVertx();
    var node = TinyRun.actor(vertx, bootstrap, dir, config, new Watch()::line);
    try {
      var fenced = zombie.get(WAIT.toSeconds(), TimeUnit.SECONDS);
      assertThat(fenced).isInstanceOf(InputError.class);
      assertThat(takeover.get(WAIT.toSeconds(), TimeUnit.SECONDS))
          .as(String.join("\n", takeoverLog.lines()))
          .isNull();
      // read once the takeover is done: the zombie may be fenced before it checkpoints a rollout
      var run = KafkaRollouts.appliedRolloutIds(takeoverOut).get(0).split(":")[0];
      assertThat(fenced.getMessage())
          .startsWith("fenced: another learner started on this cluster")
          .contains("this learner of run " + run + " stops")
          .contains("stops without publishing policy v1 (resuming its --out")
          .doesNotContain("\n");
      assertThat(zombieLog.has("learner: checkpoint v1 written")).isTrue();
      assertThat(zombieLog.has("learner: published policy v1")).isFalse();
    } finally {
      node.stop();
      vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
    assertThat(Checkpoint.trainState(takeoverOut, TrainState.class).step()).isEqualTo(3);
    // what actors can read (read_committed): the zombie's v0, the takeover's v0 again, then the
    // takeover's versions; the zombie's v1 never
    try (var weights = new TopicTail<>(bootstrap, Topics.POLICY_WEIGHTS, WeightChunk.class)) {
      var chunks = weights.toEnd(WAIT);
      var versions =
          chunks.stream().filter(c -> c.getChunkIndex() == 0).map(WeightChunk::getVersion).toList();
      assertThat(versions).containsExactly(0L, 0L, 1L, 2L, 3L);
      // each states the learner's reward source and SFT reference, which an actor scoring
      // otherwise refuses
      var sftWeights = Checkpoint.weightsSha256(dir.resolve("sft"));
      var run = runOf(takeoverOut);
      assertThat(chunks)
          .allSatisfy(
              c -> {
                assertThat(String.valueOf(c.getMeta().get(PublishedWeights.META_REFERENCE_SHA256)))
                    .isEqualTo(sftWeights);
                assertThat(String.valueOf(c.getMeta().get(PublishedWeights.META_RUN)))
                    .isEqualTo(run);
                assertThat(String.valueOf(c.getMeta().get(PublishedWeights.META_REWARD_SOURCE)))
                    .isEqualTo(TinyRun.config(3, 0).reward());
                assertThat(String.valueOf(c.getMeta().get("sampling_temperature")))
                    .isEqualTo(Double.toString(TinyRun.config(3, 0).samplingTemperature()));
                assertThat(String.valueOf(c.getMeta().get("responses_per_prompt")))
                    .isEqualTo(Integer.toString(TinyRun.config(3, 0).responsesPerPrompt()));
              });
    }
  }

  @Test
  void aResumeOfAnotherRunsDirectoryIsRefusedWithoutFencingTheLearnerAtWork(@TempDir Path dir)
      throws Exception {
    TinyRun.checkpoints(dir);
    var config = TinyRun.config(2, 0);
    // another run, on topics since wiped: it checkpointed v0 before it published a prompt, so its
    // checkpoint names no prompt to look after; with no actor it gives up waiting for rollouts
    var strangerOut = dir.resolve("stranger");
    var strangerLog = new Watch();
    var stranger =
        learnAsync(
            config, LoopBroker.fresh(), dir, strangerOut, strangerLog, Duration.ofSeconds(2));
    assertThat(stranger.get(WAIT.toSeconds(), TimeUnit.SECONDS))
        .as(String.join("\n", strangerLog.lines()))
        .hasMessageContaining("gave up after 2 s waiting for rollouts of update 1");
    var strangerRun = runOf(strangerOut);

    var bootstrap = LoopBroker.fresh();
    var workerOut = dir.resolve("worker");
    var workerLog = new Watch();
    var worker = learnAsync(config, bootstrap, dir, workerOut, workerLog, WAIT);
    workerLog.await("learner: published policy v0", WAIT);
    try (var prompts = new TopicTail<>(bootstrap, Topics.PROMPTS, Prompt.class)) {
      prompts.until(read -> read.size() == 2, "prompt batch 0", WAIT);
    }

    var resumeLog = new Watch();
    var refused =
        learnAsync(config, bootstrap, dir, strangerOut, resumeLog, WAIT)
            .get(WAIT.toSeconds(), TimeUnit.SECONDS);
    assertThat(refused)
        .as(String.join("\n", resumeLog.lines()))
        .isInstanceOf(InputError.class)
        .hasMessageContaining(
            "its newest policy, v0, is run " + runOf(workerOut) + "'s, not this run's")
        .hasMessageContaining("(" + strangerRun + ")")
        .hasMessageContaining("resuming here would stop its learner");

    // the worker was not fenced: it finishes its run once an actor answers
    var vertx = ActorNode.newVertx();
    var node = TinyRun.actor(vertx, bootstrap, dir, config, new Watch()::line);
    try {
      assertThat(worker.get(WAIT.toSeconds(), TimeUnit.SECONDS))
          .as(String.join("\n", workerLog.lines()))
          .isNull();
    } finally {
      node.stop();
      vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
    try (var weights = new TopicTail<>(bootstrap, Topics.POLICY_WEIGHTS, WeightChunk.class)) {
      var runs =
          weights.toEnd(WAIT).stream()
              .filter(c -> c.getChunkIndex() == 0)
              .map(c -> c.getVersion() + " " + c.getMeta().get(PublishedWeights.META_RUN))
              .toList();
      var run = runOf(workerOut);
      assertThat(runs).containsExactly("0 " + run, "1 " + run, "2 " + run);
    }
  }

  /** The run id the checkpoint in {@code out} records. */
  private static String runOf(Path out) throws Exception {
    return Checkpoint.extras(out).get(PpoLoop.SOURCE_STATE).get("run_id").asText();
  }

  @Test
  void aSecondLearnerOnTheSameOutIsRefusedAtOnce(@TempDir Path dir) throws Exception {
    TinyRun.checkpoints(dir);
    var bootstrap = LoopBroker.fresh();
    ConfigLoader.save(TinyRun.config(3, 0), dir.resolve("settings"));
    var out = dir.resolve("ppo");
    var args =
        new ArrayList<>(TinyRun.loopArgs("learner", bootstrap, dir, "--out", out.toString()));
    var firstLog = new Watch();
    var first = firstLog.rlhf(args); // another process: no actor, so it waits for rollouts
    try {
      firstLog.await("learner: published policy v0", WAIT);
      var config = Files.readString(out.resolve(ConfigLoader.FILE_NAME));
      args.add("--resume");
      var err = new StringWriter();
      var cli = Rlhf.commandLine();
      cli.setOut(new PrintWriter(new StringWriter(), true));
      cli.setErr(new PrintWriter(err, true));
      assertThat(cli.execute(args.toArray(String[]::new))).isEqualTo(2);
      assertThat(err.toString().strip())
          .isEqualTo(
              "rlhf learner: --out "
                  + out
                  + " is in use by another learner (process "
                  + first.pid()
                  + " holds "
                  + OutputLock.FILE
                  + "): one learner per output directory; stop it, or choose another --out");
      assertThat(Files.readString(out.resolve(ConfigLoader.FILE_NAME)))
          .as("refused before writing")
          .isEqualTo(config);
    } finally {
      first.destroyForcibly();
      assertThat(first.waitFor(30, TimeUnit.SECONDS)).isTrue();
    }
    // the kernel released the dead process's lock
    try (var lock = OutputLock.acquire(out)) {
      assertThat(Files.readString(out.resolve(OutputLock.FILE)).strip())
          .isEqualTo(Long.toString(ProcessHandle.current().pid()));
    }
  }

  /**
   * {@link KafkaRollouts#learn} on a thread of its own: what it threw, or null when it finished.
   */
  private static CompletableFuture<Throwable> learnAsync(
      PpoConfig config, String bootstrap, Path dir, Path out, Watch log) {
    return learnAsync(config, bootstrap, dir, out, log, WAIT);
  }

  /** The same, giving up after {@code rolloutWait} without rollouts. */
  private static CompletableFuture<Throwable> learnAsync(
      PpoConfig config, String bootstrap, Path dir, Path out, Watch log, Duration rolloutWait) {
    return CompletableFuture.supplyAsync(
        () -> {
          try {
            KafkaRollouts.learn(
                config,
                new KafkaRollouts.Settings(
                    KafkaAccess.plaintext(bootstrap), rolloutWait, Duration.ofSeconds(30), null),
                dir.resolve("sft"),
                dir.resolve("rm"),
                out,
                log.writer());
            return null;
          } catch (Throwable e) {
            return e;
          }
        });
  }
}
