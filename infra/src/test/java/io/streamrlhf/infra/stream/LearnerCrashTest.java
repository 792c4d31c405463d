package io.streamrlhf.infra.stream;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamrlhf.actors.ActorNode;
import io.streamrlhf.actors.RolloutActor;
import io.streamrlhf.learner.config.ConfigLoader;
import io.streamrlhf.learner.ppo.RewardSource;
import io.streamrlhf.learner.stream.KafkaRollouts;
import io.streamrlhf.learner.stream.StreamStats;
import io.streamrlhf.learner.train.TrainState;
import io.streamrlhf.model.checkpoint.Checkpoint;
import io.streamrlhf.schemas.WeightModel;
import io.streamrlhf.schemas.signing.TrustedWeightKeys;
import io.streamrlhf.schemas.signing.WeightSigner;
import io.streamrlhf.schemas.transport.KafkaAccess;
import io.streamrlhf.schemas.transport.KafkaClientConfigs;
import io.streamrlhf.schemas.transport.WeightPublisher;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The learner process killed with SIGKILL mid-run and started again with --resume on the same
 * output directory, two prompt batches in flight (max_lag 1): every rollout id is applied exactly
 * once (the checkpoint holds the consumed offsets and the ledger; rollouts produced again or read
 * again after the restart are skipped), update u on exactly prompt batch u, none dropped as stale,
 * and the run's figures count both processes.
 */
class LearnerCrashTest {
  private static final Duration WAIT = Duration.ofSeconds(120);

  @Test
  void aLearnerKilledMidRunAndRestartedAppliesEveryRolloutExactlyOnce(@TempDir Path dir)
      throws Exception {
    TinyRun.checkpoints(dir);
    var bootstrap = LoopBroker.fresh();
    var config = TinyRun.config(5, 1);
    ConfigLoader.save(config, dir.resolve("settings"));
    var configFile = dir.resolve("settings").resolve(ConfigLoader.FILE_NAME);
    var out = dir.resolve("ppo");
    var vertx = ActorNode.newVertx();
    var actorLog = new Watch();
    var node = TinyRun.actor(vertx, bootstrap, dir, config, actorLog::line);
    try {
      var first = new Watch();
      var killed = learner(bootstrap, dir, configFile, out, false, first);
      first.await("learner: checkpoint v2 written", WAIT);
      // update 3 is computed from rollouts read past checkpoint v2 but not yet checkpointed: kill
      // it there
      first.await("learner: update 3/5", WAIT);
      killed.destroyForcibly(); // SIGKILL: no shutdown hooks, no flush
      assertThat(killed.waitFor(30, TimeUnit.SECONDS)).isTrue();

      var second = new Watch();
      var restarted = learner(bootstrap, dir, configFile, out, true, second);
      assertThat(second.exited(restarted, WAIT)).as("restarted learner finished").isTrue();
      assertThat(restarted.exitValue()).as(String.join("\n", second.lines())).isZero();
      assertThat(second.has("learner: resumed run")).isTrue();
    } finally {
      node.stop();
      vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }

    assertThat(Checkpoint.trainState(out, TrainState.class).step()).isEqualTo(5);
    var applied = KafkaRollouts.appliedRolloutIds(out);
    var run = applied.get(0).split(":")[0];
    var expected = new ArrayList<String>();
    for (int b = 0; b < 5; b++) {
      for (int i = 0; i < 2; i++) {
        for (int k = 0; k < 2; k++) expected.add(run + ":" + b + ":" + i + "#" + k);
      }
    }
    assertThat(applied).isEqualTo(expected);
    var stats = StreamStats.Summary.read(out);
    assertThat(stats.rolloutsApplied()).isEqualTo(20);
    assertThat(stats.droppedStale()).isZero();
    assertThat(stats.resumes()).isEqualTo(1);
  }

  @Test
  void aMaxLagLoweredOnResumeAsksTheStalePromptsAgainAndLosesNone(@TempDir Path dir)
      throws Exception {
    TinyRun.checkpoints(dir);
    var bootstrap = LoopBroker.fresh();
    var config = TinyRun.config(6, 2);
    ConfigLoader.save(config, dir.resolve("settings"));
    var configFile = dir.resolve("settings").resolve(ConfigLoader.FILE_NAME);
    var out = dir.resolve("ppo");
    var models =
        RolloutActor.Models.load(
            dir.resolve("sft"), RewardSource.of(config.reward(), dir.resolve("rm"))::loadUnchecked);
    var vertx = ActorNode.newVertx();
    // The first actor trusts only a key the learner does not hold, and that key signs a v0 (the
    // SFT weights, as the learner's v0): the actor answers every batch with v0 and applies none of
    // the learner's versions, so the rollouts in flight at the halt are stale by construction,
    // whatever the relative speed of actor and learner.
    var outsider = WeightSigner.generate();
    var deafLog = new Watch();
    var deaf =
        ActorNode.deploy(
            vertx,
            LocalLoop.settings("actor-0", bootstrap, config)
                .withWeightKeys(
                    TrustedWeightKeys.none().with(WeightModel.POLICY, outsider.publicKey())),
            models,
            deafLog::line);
    ActorNode listening = null;
    try {
      // batches 0..4 answered by v0 (lag <= 2 up to update 2); the learner halts writing
      // checkpoint v3, so it resumes at v2 with batches 2..4 on the topic, all sampled by v0
      var first = new Watch();
      var halted =
          learner(
              bootstrap,
              dir,
              configFile,
              out,
              List.of("-D" + Checkpoint.HALT_PROPERTY + "=3"),
              List.of(),
              first);
      // after the learner's own v0, or it would refuse a weights topic that holds versions
      first.await("learner: published policy v0", WAIT);
      try (var producer =
              new KafkaProducer<byte[], byte[]>(
                  KafkaClientConfigs.producer(KafkaAccess.plaintext(bootstrap), "outsider"));
          var sft = Checkpoint.loadModel(dir.resolve("sft"))) {
        new WeightPublisher(producer, outsider).publish(LoopFeed.policyVersion(sft, 0), WAIT);
      }
      assertThat(first.exited(halted, WAIT))
          .as(String.join("\n", first.lines()) + "\n" + String.join("\n", deafLog.lines()))
          .isTrue();
      assertThat(halted.exitValue()).as(String.join("\n", first.lines())).isEqualTo(137);
      deaf.stop();

      // resumed at v2 with max_lag 0: every rollout in flight lags its batch; an actor that does
      // apply the policy answers the prompts asked again
      listening =
          ActorNode.deploy(
              vertx, LocalLoop.settings("actor-1", bootstrap, config), models, new Watch()::line);
      var second = new Watch();
      var resumed =
          learner(
              bootstrap,
              dir,
              configFile,
              out,
              List.of(),
              List.of("--resume", "--set", "max_lag=0"),
              second);
      assertThat(second.exited(resumed, WAIT)).isTrue();
      assertThat(resumed.exitValue()).as(String.join("\n", second.lines())).isZero();
      assertThat(second.has("lags its batch by more than max_lag 0: prompt asked again"))
          .as(String.join("\n", second.lines()))
          .isTrue();
    } finally {
      deaf.stop();
      if (listening != null) listening.stop();
      vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
    var expected = new ArrayList<String>();
    for (int b = 0; b < 6; b++) {
      for (int i = 0; i < 2; i++) {
        for (int k = 0; k < 2; k++) expected.add(b + ":" + i + "#" + k);
      }
    }
    var applied = KafkaRollouts.appliedRolloutIds(out);
    assertThat(applied.stream().map(id -> id.substring(id.indexOf(':') + 1)).toList())
        .as("every prompt trained on, in its own update, once")
        .isEqualTo(expected);
    var stats = StreamStats.Summary.read(out);
    assertThat(stats.droppedStale()).isPositive();
    assertThat(stats.promptsRequestedAgain()).isPositive();
    assertThat(stats.rolloutsApplied()).isEqualTo(24);
  }

  /**
   * {@code rlhf learner} as a child JVM on this test's classpath, its output lines into {@code
   * watch}.
   */
  private static Process learner(
      String bootstrap, Path dir, Path config, Path out, boolean resume, Watch watch)
      throws Exception {
    return learner(
        bootstrap, dir, config, out, List.of(), resume ? List.of("--resume") : List.of(), watch);
  }

  /** The same with JVM options and flags of its own. */
  private static Process learner(
      String bootstrap,
      Path dir,
      Path config,
      Path out,
      List<String> jvmOptions,
      List<String> flags,
      Watch watch)
      throws Exception {
    var command =
        new ArrayList<>(
            List.of(
                "learner",
                "--bootstrap",
                bootstrap,
                "--sft",
                dir.resolve("sft").toString(),
                "--rm",
                dir.resolve("rm").toString(),
                "--config",
                config.toString(),
                "--out",
                out.toString(),
                "--rollout-wait",
                "PT2M"));
    command.addAll(flags);
    return watch.rlhf(jvmOptions, command);
  }
}
