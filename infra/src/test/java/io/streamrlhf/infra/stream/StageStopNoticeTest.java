package io.streamrlhf.infra.stream;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamrlhf.learner.config.ConfigLoader;
import io.streamrlhf.learner.train.TrainState;
import io.streamrlhf.model.checkpoint.Checkpoint;
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
    try {
      watch.await("pretrain step 7/100000", Duration.ofMinutes(2)); // past two checkpoints

      // SIGTERM through the handle, which unlike Process.destroy leaves the output open
      pretrain.toHandle().destroy();

      assertThat(watch.exited(pretrain, Duration.ofMinutes(1))).as("exited").isTrue();
    } finally {
      pretrain.destroyForcibly();
    }
    assertThat(pretrain.exitValue()).isEqualTo(143);
    var notice =
        Pattern.compile(
            "rlhf pretrain: stopped; "
                + Pattern.quote(out.toString())
                + " holds the checkpoint of step (\\d+): the same command with --resume continues"
                + " from there");
    var said = watch.lines().stream().map(notice::matcher).filter(m -> m.matches()).toList();
    assertThat(said).as("one notice in:\n%s", String.join("\n", watch.lines())).hasSize(1);
    long step = Long.parseLong(said.get(0).group(1));
    assertThat(step).isGreaterThanOrEqualTo(6).matches(s -> s % 3 == 0, "a checkpoint step");
    assertThat(Checkpoint.trainState(out, TrainState.class).step())
        .as("the checkpoint in force is the one named, or one the last step wrote after it")
        .isBetween(step, step + 3);
  }

  @Test
  void ppoStoppedBySigtermNamesItsLastUpdateAndLeavesNoBrokerData(@TempDir Path dir)
      throws Exception {
    TinyRun.checkpoints(dir);
    ConfigLoader.save(TinyRun.config(100000, 1), dir.resolve("settings"));
    var out = dir.resolve("ppo");
    var watch = new Watch();
    var ppo =
        watch.rlhf(
            List.of(
                "ppo",
                "--sft",
                dir.resolve("sft").toString(),
                "--rm",
                dir.resolve("rm").toString(),
                "--config",
                dir.resolve("settings").resolve(ConfigLoader.FILE_NAME).toString(),
                "--actors",
                "1",
                "--out",
                out.toString()));
    try {
      watch.await("learner: update 3/100000", Duration.ofMinutes(2)); // past two checkpoints
      ppo.toHandle().destroy(); // SIGTERM
      assertThat(watch.exited(ppo, Duration.ofMinutes(1))).as("exited").isTrue();
    } finally {
      ppo.destroyForcibly();
    }
    assertThat(ppo.exitValue()).isEqualTo(143);
    var notice =
        Pattern.compile(
            "rlhf ppo: stopped; "
                + Pattern.quote(out.toString())
                + " holds the checkpoint of update (\\d+): the same command with --resume continues"
                + " from there");
    var said = watch.lines().stream().map(notice::matcher).filter(m -> m.matches()).toList();
    assertThat(said).as("one notice in:\n%s", String.join("\n", watch.lines())).hasSize(1);
    assertThat(Long.parseLong(said.get(0).group(1))).isGreaterThanOrEqualTo(2);

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
}
