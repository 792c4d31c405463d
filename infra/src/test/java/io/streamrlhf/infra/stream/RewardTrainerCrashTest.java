package io.streamrlhf.infra.stream;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamrlhf.learner.config.ConfigLoader;
import io.streamrlhf.learner.config.OnlineRewardConfig;
import io.streamrlhf.learner.reward.OnlineRewardTraining;
import io.streamrlhf.learner.stream.RewardTrainer;
import io.streamrlhf.learner.train.TrainState;
import io.streamrlhf.model.checkpoint.Checkpoint;
import io.streamrlhf.model.checkpoint.Json;
import io.streamrlhf.schemas.Comparison;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The reward trainer process killed with SIGKILL between two checkpoints and started again with
 * --resume on the same output directory: every comparison is taken in exactly once, in topic order
 * (the checkpoint holds the offsets, the replay buffer and the held-out set; what was taken in
 * after it is taken in again, once), and one sent again under its id is dropped. Then SIGTERM stops
 * it cleanly.
 */
class RewardTrainerCrashTest {
  private static final Duration WAIT = Duration.ofSeconds(120);
  private static final int TOTAL = 200;
  private static final double HELD_OUT_SHARE = 0.1;

  @Test
  void aRewardTrainerKilledMidRunAndRestartedAppliesEveryComparisonExactlyOnce(@TempDir Path dir)
      throws Exception {
    var bootstrap = LoopBroker.fresh();
    TinyRun.sft(dir.resolve("sft"), TinyRun.SHAPE);
    var config =
        ConfigLoader.with(
            OnlineRewardConfig.defaults(),
            "comparisons_per_step=8",
            "catch_up_factor=1", // steps of 8, however many wait: where the kill falls is exact
            "held_out_share=" + HELD_OUT_SHARE,
            "publish_every_steps=5",
            // no step on fewer than 8 fresh comparisons: where the trainer stands is exact
            "fresh_wait_seconds=600",
            "statistics_samples=8",
            "likelihood_fit_min_comparisons=16",
            "log_every_steps=1");
    ConfigLoader.save(config, dir.resolve("settings"));
    var configFile = dir.resolve("settings").resolve(ConfigLoader.FILE_NAME);
    var out = dir.resolve("reward-trainer");

    // before the kill: 100 or a few more fresh comparisons, so the trainer takes 12 steps,
    // checkpointed and published at steps 5 and 10, and then waits for more
    var stream = new SimulatedComparisons(5);
    var all = new ArrayList<Comparison>();
    int fresh = 0;
    while (fresh < 100) {
      for (var c : stream.nextRequest()) {
        all.add(c);
        if (SimulatedComparisons.fresh(c, HELD_OUT_SHARE)) fresh++;
      }
    }
    SimulatedComparisons.produce(bootstrap, all);

    var first = new Watch();
    var killed = trainer(bootstrap, dir, configFile, out, false, TOTAL, first);
    first.await("reward-trainer: published RM v10", WAIT);
    first.await("reward-trainer: step 12 ", WAIT);
    killed.destroyForcibly(); // SIGKILL: no shutdown hook, no checkpoint of steps 11 and 12
    assertThat(killed.waitFor(30, TimeUnit.SECONDS)).isTrue();

    // the writers' at-least-once: comparisons sent again under their ids, ten taken in before the
    // checkpoint, five read after it (taken in again, once, after the restart) and one of this
    // batch
    var rest = stream.next(TOTAL - all.size());
    var sent = new ArrayList<>(all.subList(0, 10));
    sent.addAll(all.subList(all.size() - 5, all.size()));
    sent.addAll(rest.subList(0, 20));
    sent.add(rest.get(3));
    sent.addAll(rest.subList(20, rest.size()));
    SimulatedComparisons.produce(bootstrap, sent);
    all.addAll(rest);

    var second = new Watch();
    var restarted = trainer(bootstrap, dir, configFile, out, true, TOTAL, second);
    assertThat(second.exited(restarted, WAIT)).as("restarted reward trainer finished").isTrue();
    assertThat(restarted.exitValue()).as(String.join("\n", second.lines())).isZero();
    assertThat(second.has("reward-trainer: resumed at step 10 ")).isTrue();
    assertThat(second.has("reward-trainer: published RM v10 ")).isTrue(); // again, to be sure

    var ids = all.stream().map(Comparison::getComparisonId).toList();
    assertThat(RewardTrainer.appliedComparisonIds(out)).containsExactlyElementsOf(ids);
    assertThat(second.lines())
        .anyMatch(
            l -> l.contains("stopped after") && l.endsWith("16 repeated comparison(s) dropped"));
    var state =
        Json.MAPPER.treeToValue(
            Checkpoint.extras(out).get(OnlineRewardTraining.STATE_KEY),
            OnlineRewardTraining.State.class);
    assertThat(state.trained() + state.heldOut()).isEqualTo(TOTAL);
    assertThat(state.skipped()).isZero();
    long versionAtTotal = Checkpoint.trainState(out, TrainState.class).step();

    // SIGTERM: a trainer taking in more comparisons stops after its step, and checkpoints and
    // publishes what it learned first
    var more = stream.next(40);
    SimulatedComparisons.produce(bootstrap, more);
    all.addAll(more);
    var third = new Watch();
    var running = trainer(bootstrap, dir, configFile, out, true, 10 * TOTAL, third);
    third.await("reward-trainer: resumed at step", WAIT);
    third.await("reward-trainer: step ", WAIT);
    // the handle's destroy sends SIGTERM and, unlike Process.destroy, leaves the output open
    running.toHandle().destroy();
    assertThat(third.exited(running, WAIT)).isTrue();
    third.await("reward-trainer: stopped after", WAIT);
    // and says where it goes on, as the other training commands do
    third.await(
        "rlhf reward-trainer: stopped; "
            + out
            + " holds its checkpoint: the same command with --resume continues from it",
        WAIT);
    var applied = RewardTrainer.appliedComparisonIds(out);
    ids = all.stream().map(Comparison::getComparisonId).toList();
    assertThat(applied.size()).isGreaterThan(TOTAL);
    // the 40 new ones it did not take in before the signal (fewer than 8 fresh wait for a step)
    // are counted, not lost in silence
    int untaken = all.size() - applied.size();
    assertThat(untaken).isPositive();
    assertThat(third.lines())
        .anyMatch(
            l ->
                l.startsWith("reward-trainer: stopped after ")
                    && l.endsWith(
                        "; " + untaken + " more record(s) on rlhf.comparisons not taken in"));
    assertThat(applied).containsExactlyElementsOf(ids.subList(0, applied.size()));
    long lastVersion = Checkpoint.trainState(out, TrainState.class).step();
    assertThat(lastVersion).isGreaterThan(versionAtTotal);
    assertThat(third.has("reward-trainer: published RM v" + lastVersion + " ")).isTrue();

    // a new run on this cluster is refused before it writes anything to its --out
    var other = dir.resolve("other");
    var fourth = new Watch();
    var refused = trainer(bootstrap, dir, configFile, other, false, TOTAL, fourth);
    assertThat(fourth.exited(refused, WAIT)).isTrue();
    assertThat(refused.exitValue()).as(String.join("\n", fourth.lines())).isEqualTo(2);
    assertThat(fourth.lines())
        .anyMatch(l -> l.contains("already holds an earlier run's reward models and " + other));
    assertThat(other).doesNotExist();
  }

  /** {@code rlhf reward-trainer} as a child JVM on this test's classpath, its lines into watch. */
  private static Process trainer(
      String bootstrap,
      Path dir,
      Path config,
      Path out,
      boolean resume,
      int maxComparisons,
      Watch watch)
      throws Exception {
    var command =
        new ArrayList<>(
            List.of(
                "reward-trainer",
                "--bootstrap",
                bootstrap,
                "--sft",
                dir.resolve("sft").toString(),
                "--config",
                config.toString(),
                "--out",
                out.toString(),
                "--max-comparisons",
                Integer.toString(maxComparisons)));
    if (resume) command.add("--resume");
    return watch.rlhf(command);
  }
}
