package io.streamrlhf.infra.stream;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamrlhf.actors.ActorNode;
import io.streamrlhf.learner.config.ConfigLoader;
import io.streamrlhf.learner.ppo.GoldProxyCurve;
import io.streamrlhf.learner.ppo.PpoLoop;
import io.streamrlhf.learner.stream.KafkaRollouts;
import io.streamrlhf.learner.stream.StreamStats;
import io.streamrlhf.model.Gpt;
import io.streamrlhf.model.checkpoint.Checkpoint;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Resume is exact, not just duplicate-free: with one actor and max_lag 0, a learner killed inside a
 * checkpoint write (the {@value Checkpoint#HALT_PROPERTY} seam, a halt as abrupt as SIGKILL) and
 * resumed trains every update on the very prompt batch an uninterrupted run trains it on, and ends
 * with the uninterrupted run's weights (bit for bit when the actor groups each batch's prompts
 * alike in both runs).
 */
class ExactResumeTest {
  private static final int UPDATES = 5;
  private static final Duration WAIT = Duration.ofSeconds(120);

  @Test
  void aLearnerKilledInsideACheckpointWriteEndsWithTheUninterruptedRunsWeights(@TempDir Path dir)
      throws Exception {
    TinyRun.checkpoints(dir);
    // the gold-vs-proxy curve at every update (one held-out prompt): evaluating changes no weight
    var config = ConfigLoader.with(TinyRun.config(UPDATES, 0), "eval_every_updates=1");
    var whole = dir.resolve("whole");
    LocalLoop.run(
        config,
        1,
        LoopBroker.fresh(),
        dir.resolve("sft"),
        dir.resolve("rm"),
        whole,
        new PrintWriter(new StringWriter(), true));

    var bootstrap = LoopBroker.fresh();
    ConfigLoader.save(config, dir.resolve("settings"));
    var configFile = dir.resolve("settings").resolve(ConfigLoader.FILE_NAME);
    var resumed = dir.resolve("resumed");
    var vertx = ActorNode.newVertx();
    var node = TinyRun.actor(vertx, bootstrap, dir, config, new Watch()::line);
    try {
      // update 3 is computed (from prompt batch 2), its checkpoint half written: then the halt
      var first = new Watch();
      var killed =
          learner(
              bootstrap,
              dir,
              configFile,
              resumed,
              List.of("-D" + Checkpoint.HALT_PROPERTY + "=3"),
              first);
      assertThat(first.exited(killed, WAIT)).isTrue();
      assertThat(killed.exitValue()).as(String.join("\n", first.lines())).isEqualTo(137);
      assertThat(first.has("learner: update 3/5")).isTrue();
      assertThat(first.has("halting midway through writing")).isTrue();
      assertThat(first.has("checkpoint v3 written")).isFalse();
      // update 3 was evaluated before its checkpoint: the resumed run measures it again
      assertThat(first.has("learner: eval at update 3")).isTrue();

      var second = new Watch();
      var restarted = learner(bootstrap, dir, configFile, resumed, List.of("--resume"), second);
      assertThat(second.exited(restarted, WAIT)).isTrue();
      assertThat(restarted.exitValue()).as(String.join("\n", second.lines())).isZero();
      assertThat(second.has("resuming at policy v2 of 5")).isTrue();
    } finally {
      node.stop();
      vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }

    // update u trained on exactly prompt batch u, in both runs, each rollout once
    var expected = new ArrayList<String>();
    for (int b = 0; b < UPDATES; b++) {
      for (int i = 0; i < 2; i++) {
        for (int k = 0; k < 2; k++) expected.add(b + ":" + i + "#" + k);
      }
    }
    assertThat(withoutRun(KafkaRollouts.appliedRolloutIds(resumed))).isEqualTo(expected);
    assertThat(withoutRun(KafkaRollouts.appliedRolloutIds(whole))).isEqualTo(expected);
    // the figures are the whole run's, across both processes
    var stats = StreamStats.Summary.read(resumed);
    assertThat(stats.rolloutsApplied()).isEqualTo(UPDATES * 4);
    assertThat(stats.droppedStale()).isZero();
    assertThat(stats.resumes()).isEqualTo(1);
    // the curve goes on from the checkpoint: one row per update, the clock never going back
    var curve = GoldProxyCurve.read(resumed.resolve(PpoLoop.CURVE_CSV));
    assertThat(curve)
        .extracting(GoldProxyCurve.Point::update)
        .containsExactly(0L, 1L, 2L, 3L, 4L, 5L);
    for (int i = 1; i < curve.size(); i++)
      assertThat(curve.get(i).seconds()).isGreaterThan(curve.get(i - 1).seconds());

    try (var a = Checkpoint.loadModel(whole);
        var b = Checkpoint.loadModel(resumed);
        var sft = Checkpoint.loadModel(dir.resolve("sft"))) {
      assertThat(maxDifference(a, sft)).as("PPO moved the weights").isGreaterThan(1e-3);
      // 0 when the actor samples each batch's prompts in one group, as it does here; a batch the
      // actor happens to split moves log-probs in the last bits (see EquivalenceTest), far less
      // than training on other rollouts would (PPO moves these weights by more than 1e-3)
      System.out.println("resumed vs uninterrupted: max |Δw| = " + maxDifference(a, b));
      assertThat(maxDifference(a, b)).as("resumed vs uninterrupted").isLessThan(1e-5);
    }
  }

  @Test
  void aCorruptNewestCheckpointFallsBackToThePreviousAndRedoesItsUpdateExactly(@TempDir Path dir)
      throws Exception {
    TinyRun.checkpoints(dir);
    var config = TinyRun.config(3, 0);
    var out = dir.resolve("ppo");
    var bootstrap = LoopBroker.fresh();
    LocalLoop.run(
        config,
        1,
        bootstrap,
        dir.resolve("sft"),
        dir.resolve("rm"),
        out,
        new PrintWriter(new StringWriter(), true));
    var finished = new java.util.HashMap<String, float[]>();
    try (var model = Checkpoint.loadModel(out)) {
      model.parameters().forEach((name, p) -> finished.put(name, p.toFloatArray()));
    }
    // the newest checkpoint's weights rot on disk after the run
    var weights = out.resolve(Checkpoint.latest(out).directory()).resolve(Checkpoint.WEIGHTS);
    var bytes = java.nio.file.Files.readAllBytes(weights);
    bytes[bytes.length - 5] ^= 0x10;
    java.nio.file.Files.write(weights, bytes);

    var log = new Watch();
    LocalLoop.run(config, 1, bootstrap, dir.resolve("sft"), dir.resolve("rm"), out, log.writer());

    assertThat(log.has("learner: warning: the newest checkpoint in " + out)).isTrue();
    assertThat(log.has("resuming at policy v2 of 3")).isTrue();
    var expected = new ArrayList<String>();
    for (int b = 0; b < 3; b++) {
      for (int i = 0; i < 2; i++) {
        for (int k = 0; k < 2; k++) expected.add(b + ":" + i + "#" + k);
      }
    }
    assertThat(withoutRun(KafkaRollouts.appliedRolloutIds(out)))
        .as("the applied log cut back to the previous checkpoint's, then update 3 again")
        .isEqualTo(expected);
    try (var model = Checkpoint.loadModel(out)) {
      model
          .parameters()
          .forEach(
              (name, p) -> assertThat(p.toFloatArray()).as(name).isEqualTo(finished.get(name)));
    }
  }

  /** Rollout ids without their run's prefix: {@code batch:prompt#sample}. */
  private static List<String> withoutRun(List<String> ids) {
    return ids.stream().map(id -> id.substring(id.indexOf(':') + 1)).toList();
  }

  private static double maxDifference(Gpt a, Gpt b) {
    double max = 0;
    for (var entry : a.parameters().entrySet()) {
      var x = entry.getValue().toFloatArray();
      var y = b.parameters().get(entry.getKey()).toFloatArray();
      for (int i = 0; i < x.length; i++) max = Math.max(max, Math.abs(x[i] - y[i]));
    }
    return max;
  }

  /** {@code rlhf learner} as a child JVM with {@code jvmOptions}; extra flags after the usual. */
  private static Process learner(
      String bootstrap, Path dir, Path config, Path out, List<String> options, Watch watch)
      throws Exception {
    var jvm = options.stream().filter(o -> o.startsWith("-D")).toList();
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
    options.stream().filter(o -> !o.startsWith("-D")).forEach(command::add);
    return watch.rlhf(jvm, command);
  }
}
