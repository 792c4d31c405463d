package io.streamrlhf.infra.cli;

import static io.streamrlhf.infra.cli.CliRun.run;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StreamCliTest {

  @Test
  void actorLearnerAndPpoHelpNameTheStreamingFlags() {
    var actor = run("actor", "--help");
    assertThat(actor.exitCode()).isZero();
    assertThat(actor.out()).contains("--bootstrap=HOST:PORT", "--sft=DIR", "--rm=DIR", "rlhf.prompts");
    var learner = run("learner", "--help");
    assertThat(learner.exitCode()).isZero();
    assertThat(learner.out()).contains("--bootstrap=HOST:PORT", "--sync", "exactly once", "stream-stats.json");
    var ppo = run("ppo", "--help");
    assertThat(ppo.out()).contains("--inproc", "--sync", "--actors=N", "--bootstrap=HOST:PORT");
  }

  @Test
  void badStreamingFlagsAreOneLineUserErrors(@TempDir Path dir) {
    var actors = run("ppo", "--sft", dir.toString(), "--rm", dir.toString(), "--out", dir.resolve("ppo").toString(), "--actors", "0");
    assertThat(actors.exitCode()).isEqualTo(2);
    assertThat(actors.err().strip()).isEqualTo("rlhf ppo: --actors must be at least 1, got 0");
    var both = run("ppo", "--sft", dir.toString(), "--rm", dir.toString(), "--out", dir.resolve("ppo").toString(), "--inproc",
        "--bootstrap", "x:1");
    assertThat(both.exitCode()).isEqualTo(2);
    assertThat(both.err()).contains("--inproc runs without Kafka").doesNotContain("\tat ");
    var lag = run("learner", "--bootstrap", "127.0.0.1:1", "--sft", dir.toString(), "--rm", dir.toString(),
        "--set", "max_lag=-1");
    assertThat(lag.exitCode()).isEqualTo(2);
    assertThat(lag.err()).contains("max_lag").doesNotContain("\tat ");
  }
}
