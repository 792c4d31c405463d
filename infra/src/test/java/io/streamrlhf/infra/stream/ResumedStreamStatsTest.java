package io.streamrlhf.infra.stream;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamrlhf.learner.config.PpoConfig;
import io.streamrlhf.learner.stream.StreamStats;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A ppo run resumed on a new embedded broker: it reads the new cluster's rollouts from the start,
 * its stream-stats.json counts the actor swaps of every process, and resuming a finished run trains
 * nothing and leaves its figures as they were (rlhf learner --resume too).
 */
class ResumedStreamStatsTest {

  @Test
  void aResumeCountsEveryProcessesSwapsAndAFinishedRunIsLeftAsItIs(@TempDir Path dir)
      throws Exception {
    TinyRun.checkpoints(dir);
    var out = dir.resolve("ppo");
    var first = run(dir, out, TinyRun.config(2, 1), new Watch());
    assertThat(first.weightSwaps()).isEqualTo(2); // v1 and v2, by the one actor

    // each ppo process has an embedded broker of its own: the checkpoint's rollout offsets are an
    // earlier cluster's, and the resumed learner reads the new one's partitions from the beginning
    var resumed = new Watch();
    var second = run(dir, out, TinyRun.config(4, 1), resumed);
    assertThat(resumed.has("a new cluster's: read from their beginning")).isTrue();
    assertThat(second.resumes()).isEqualTo(1);
    assertThat(second.rolloutsApplied()).isEqualTo(4L * 2 * 2);
    // the first process's two swaps, then this one's: at least v3 and v4
    assertThat(second.weightSwaps()).isGreaterThanOrEqualTo(first.weightSwaps() + 2);
    assertThat(Files.readAllLines(out.resolve(SwapLog.FILE)))
        .hasSize(second.weightSwaps().intValue());

    var written = Files.readString(out.resolve(StreamStats.FILE));
    var log = new Watch();
    var again = run(dir, out, TinyRun.config(4, 1), log);
    assertThat(log.has("ppo: " + out + " already holds all 4 updates: nothing to do")).isTrue();
    assertThat(log.has("learner: update")).isFalse();
    assertThat(again).isEqualTo(second);
    assertThat(Files.readString(out.resolve(StreamStats.FILE))).isEqualTo(written);

    // the learner alone likewise: it needs no broker for it, and counts no process of its own
    // (the config.json the CLI would have left, which a resume reads)
    io.streamrlhf.learner.config.ConfigLoader.save(TinyRun.config(4, 1), out);
    written = Files.readString(out.resolve(StreamStats.FILE));
    var said = new java.io.StringWriter();
    var cli = io.streamrlhf.infra.cli.Rlhf.commandLine();
    cli.setOut(new java.io.PrintWriter(said, true));
    cli.setErr(new java.io.PrintWriter(said, true));
    int code =
        cli.execute(
            "learner",
            "--bootstrap",
            "127.0.0.1:1",
            "--sft",
            dir.resolve("sft").toString(),
            "--rm",
            dir.resolve("rm").toString(),
            "--out",
            out.toString(),
            "--resume");
    assertThat(code).as(said.toString()).isZero();
    assertThat(said.toString())
        .contains("learner: " + out + " already holds all 4 updates: nothing to do");
    assertThat(Files.readString(out.resolve(StreamStats.FILE))).isEqualTo(written);
  }

  private static StreamStats.Summary run(Path dir, Path out, PpoConfig config, Watch log)
      throws Exception {
    return LocalLoop.run(
        config, 1, (String) null, dir.resolve("sft"), dir.resolve("rm"), out, log.writer());
  }
}
