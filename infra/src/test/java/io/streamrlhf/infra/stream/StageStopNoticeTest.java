package io.streamrlhf.infra.stream;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamrlhf.actors.gateway.GatewayNode;
import io.streamrlhf.learner.config.ConfigLoader;
import io.streamrlhf.learner.train.TrainState;
import io.streamrlhf.model.checkpoint.Checkpoint;
import io.streamrlhf.model.checkpoint.Json;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A training command stopped by SIGTERM says which checkpoint it left and how to continue. */
class StageStopNoticeTest {

  @Test
  void pretrainStoppedBySigtermNamesItsLastCheckpointAndHowToResume(@TempDir Path dir)
      throws Exception {
    var out = dir.resolve("base");
    var watch = new Watch();
    var pretrain =
        watch.rlhf(
            List.of(
                "pretrain",
                "--out",
                out.toString(),
                "--set",
                "steps=100000",
                "--set",
                "sequences_per_batch=2",
                "--set",
                "tokens_per_sequence=16",
                "--set",
                "log_every_steps=1",
                "--set",
                "checkpoint_every_steps=3"));
    stopBySigterm(pretrain, watch, "pretrain step 7/100000"); // past two checkpoints
    long step = noticed(watch, "pretrain", out, "step");
    assertThat(step).isGreaterThanOrEqualTo(6).matches(s -> s % 3 == 0, "a checkpoint step");
    assertThat(Checkpoint.trainState(out, TrainState.class).step())
        .as("the checkpoint in force is the one named, or one the last step wrote after it")
        .isBetween(step, step + 3);
  }

  @Test
  void ppoStoppedBySigtermNamesItsLastUpdateAndLeavesNoBrokerData(@TempDir Path dir)
      throws Exception {
    var out = dir.resolve("ppo");
    var watch = new Watch();
    var ppo =
        watch.rlhf(
            tinyRun(dir, 100000, 1, List.of("ppo", "--actors", "1", "--out", out.toString())));
    stopBySigterm(ppo, watch, "learner: update 3/100000"); // past two checkpoints
    assertThat(noticed(watch, "ppo", out, "update")).isGreaterThanOrEqualTo(2);

    // the embedded broker's temporary data directory went with the process
    var brokerData = Pattern.compile(".*Kafka broker ready at .*; data in (\\S+)\\)$");
    var dataDirs =
        watch.lines().stream()
            .map(brokerData::matcher)
            .filter(m -> m.matches())
            .map(m -> Path.of(m.group(1)))
            .toList();
    assertThat(dataDirs).hasSize(1);
    assertThat(dataDirs.get(0)).doesNotExist();
  }

  @Test
  void aLearnerStoppedBySigtermWhileItWaitsForRolloutsNamesTheCheckpointItWillResumeFrom(
      @TempDir Path dir) throws Exception {
    var out = dir.resolve("learner");
    var watch = new Watch();
    var learner =
        watch.rlhf(
            tinyRun(
                dir,
                100,
                0,
                List.of("learner", "--bootstrap", LoopBroker.fresh(), "--out", out.toString())));
    // no actor: it stops before its first update, with only v0 to continue from
    stopBySigterm(learner, watch, "learner: published policy v0");
    assertThat(noticed(watch, "learner", out, "update")).isZero();
  }

  @Test
  void aLiveRunStoppedBySigtermSaysItCannotBeContinuedAndWhatItKept(@TempDir Path dir)
      throws Exception {
    var out = dir.resolve("ppo");
    var rmOut = dir.resolve("rm-live");
    var watch = new Watch();
    var command = liveRun(dir, out, rmOut);
    var ppo = watch.rlhf(command);
    stopBySigterm(ppo, watch, "learner: update 3/100000");
    var notice =
        Pattern.compile(
            "rlhf ppo: stopped; "
                + Pattern.quote(out.toString())
                + " holds the policy of update (\\d+), "
                + Pattern.quote(rmOut.toString())
                + " the reward model of step (\\d+) \\(or later ones, written as it stopped\\);"
                + " a live run cannot be continued, and the rankings made in it were on its own"
                + " broker, gone with it");
    var said = watch.lines().stream().map(notice::matcher).filter(m -> m.matches()).toList();
    assertThat(said).as("one notice in:\n%s", String.join("\n", watch.lines())).hasSize(1);
    assertThat(Long.parseLong(said.get(0).group(1))).isGreaterThanOrEqualTo(2);
    assertThat(watch.lines()).noneMatch(l -> l.contains("--resume continues"));

    // the latency figures so far, from memory (the broker went with the process), unfinished
    var figures =
        Json.MAPPER.readValue(out.resolve(LiveLoop.FILE).toFile(), LiveLoop.Figures.class);
    assertThat(figures.finished()).isFalse();
    assertThat(LiveLoop.finished(out)).isFalse();
    assertThat(figures.versions()).as("v0 at least: actors scored with it").isPositive();
    assertThat(figures.timedRankings()).isBetween(0L, figures.rankings());
    assertThat(watch.lines())
        .contains("live: stopped before its end; so far " + figures.line().strip());
    // the trainer ended before the JVM did (torch at work in it as the process exits can crash
    // it), without waiting on the broker that closed with it
    var trainerEnd =
        watch.lines().stream().filter(l -> l.startsWith("reward-trainer: stopped after ")).toList();
    assertThat(trainerEnd).hasSize(1);
    assertThat(watch.lines().indexOf(trainerEnd.get(0)))
        .isLessThan(
            watch
                .lines()
                .indexOf("live: stopped before its end; so far " + figures.line().strip()));
    assertThat(figures.untaken())
        .as("not counted: the broker goes as the process exits")
        .isEqualTo(-1);
    // the page read from that broker too: its going is the stop, not an outage to retry (seen only
    // when the page's reader asks the broker in the stop's seconds, as it does now and then)
    assertThat(watch.lines()).noneMatch(l -> l.startsWith(GatewayNode.READ_FAILED));

    // the same command again: not --resume, the advice for other runs, since a live run cannot
    // go on
    var again = new Watch();
    var rerun = again.rlhf(command);
    assertThat(again.exited(rerun, Duration.ofMinutes(1))).isTrue();
    assertThat(rerun.exitValue()).isEqualTo(2);
    assertThat(again.lines())
        .contains(
            "rlhf ppo: "
                + out
                + " already holds a ppo checkpoint: a live run's, which cannot be continued: choose"
                + " another --out and --rm-out");
  }

  /**
   * Stopped as its reward trainer draws the samples its first version is measured on: the trainer
   * ends without a version, and without waiting on the broker that closes with the process for the
   * offsets a checkpoint would hold.
   */
  @Test
  void aLiveRunStoppedBeforeItsFirstRewardModelSaysItKeptNone(@TempDir Path dir) throws Exception {
    var out = dir.resolve("ppo");
    var rmOut = dir.resolve("rm-live");
    var watch = new Watch();
    var command = liveRun(dir, out, rmOut);
    // seconds of sampling: the signal comes while it runs
    command.addAll(List.of("--reward-set", "statistics_samples=2000"));
    var ppo = watch.rlhf(command);
    stopBySigterm(ppo, watch, "reward-trainer: drawing 2000 SFT samples");

    assertThat(watch.lines())
        .contains(
            "reward-trainer: stopped after 0 comparisons (0 trained on, 0 held out, 0 skipped), no"
                + " version published; 0 repeated comparison(s) dropped")
        .anyMatch(
            l ->
                l.startsWith(
                    "rlhf ppo: stopped; "
                        + out
                        + " holds no checkpoint yet, "
                        + rmOut
                        + " no checkpoint yet"));
    assertThat(Checkpoint.exists(rmOut)).isFalse();
  }

  /**
   * A live run on TinyRun's SFT model: scored by the reward model trained live from the labelers'
   * rankings, not by --rm.
   */
  private static List<String> liveRun(Path dir, Path out, Path rmOut) throws Exception {
    var command =
        new java.util.ArrayList<>(
            tinyRun(dir, 100000, 1, List.of("ppo", "--actors", "1", "--out", out.toString())));
    int rm = command.indexOf("--rm");
    command.subList(rm, rm + 2).clear();
    command.addAll(
        List.of("--reward", "live", "--rm-out", rmOut.toString(), "--port", "0", "--token", "t0k"));
    return command;
  }

  /** {@code command} on TinyRun's checkpoints and settings, written into {@code dir}. */
  private static List<String> tinyRun(Path dir, int updates, int maxLag, List<String> command)
      throws Exception {
    TinyRun.checkpoints(dir);
    ConfigLoader.save(TinyRun.config(updates, maxLag), dir.resolve("settings"));
    var all = new java.util.ArrayList<>(command);
    all.addAll(TinyRun.modelArgs(dir));
    return all;
  }

  /** Sends SIGTERM once {@code line} is printed; the process exits with 143. */
  private static void stopBySigterm(Process process, Watch watch, String line) throws Exception {
    try {
      watch.await(line, Duration.ofMinutes(2));
      // SIGTERM through the handle, which unlike Process.destroy leaves the output open
      process.toHandle().destroy();
      assertThat(watch.exited(process, Duration.ofMinutes(1))).as("exited").isTrue();
    } finally {
      process.destroyForcibly();
    }
    assertThat(process.exitValue()).isEqualTo(143);
  }

  /** The step (or update) the one stop notice of {@code command} names. */
  private static long noticed(Watch watch, String command, Path out, String unit) {
    var notice =
        Pattern.compile(
            "rlhf "
                + command
                + ": stopped; "
                + Pattern.quote(out.toString())
                + " holds the checkpoint of "
                + unit
                + " (\\d+) \\(or a later one, written as it stopped\\): the same command with"
                + " --resume continues from the last");
    var said = watch.lines().stream().map(notice::matcher).filter(m -> m.matches()).toList();
    assertThat(said).as("one notice in:\n%s", String.join("\n", watch.lines())).hasSize(1);
    return Long.parseLong(said.get(0).group(1));
  }
}
