package io.streamrlhf.infra.cli;

import static io.streamrlhf.infra.cli.CliRun.run;
import static org.assertj.core.api.Assertions.assertThat;

import io.streamrlhf.infra.chaos.TinyModels;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The labeling page's --port of {@code ppo --reward live} and {@code demo --live}, and a flag the
 * live demo would drop: refused in one line, exit code 2, before a broker starts or a stage trains.
 */
class LivePortCliTest {

  @Test
  void ppoRefusesAPortOutOfRangeBeforeAnythingIsPrintedOrWritten(@TempDir Path dir)
      throws IOException {
    var run = ppoLive(dir, "-1");

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err().strip()).isEqualTo("rlhf ppo: --port must be in 0..65535, got -1");
    assertThat(run.out()).as("the config is not printed").doesNotContain("\"reward\"");
    assertThat(dir.resolve("ppo")).as("--out is left alone").doesNotExist();
  }

  @Test
  void ppoRefusesAPortInUseBeforeAnythingIsPrintedOrWritten(@TempDir Path dir) throws IOException {
    try (var taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      int port = taken.getLocalPort();

      var run = ppoLive(dir, Integer.toString(port));

      assertThat(run.exitCode()).isEqualTo(2);
      assertThat(run.err().strip())
          .startsWith("rlhf ppo: cannot listen on 127.0.0.1:" + port + ": ")
          .endsWith("; stop what uses it, or choose another --port (0 picks a free one)")
          .doesNotContain("\n");
      assertThat(run.out()).as("the config is not printed").doesNotContain("\"reward\"");
      assertThat(dir.resolve("ppo")).as("--out is left alone").doesNotExist();
    }
  }

  @Test
  void demoRefusesAPortOutOfRangeBeforePretraining(@TempDir Path dir) throws IOException {
    var workdir = pretrainFailsAtOnce(dir);

    var run = run("demo", "--live", "--port", "-1", "--workdir", workdir.toString());

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err().strip()).isEqualTo("rlhf demo: --port must be in 0..65535, got -1");
    assertThat(run.out()).doesNotContain("=== demo");
  }

  @Test
  void demoRefusesItsDefaultPortInUseBeforePretraining(@TempDir Path dir) throws IOException {
    var workdir = pretrainFailsAtOnce(dir);
    ServerSocket taken;
    try {
      // where the gateway listens; held by this test, so nothing can free it half-way
      taken = new ServerSocket(8080, 1, InetAddress.getByName("127.0.0.1"));
    } catch (IOException inUse) {
      taken = null;
    }
    Assumptions.assumeTrue(taken != null, "127.0.0.1:8080 is held by another program");
    try {
      var run = run("demo", "--live", "--workdir", workdir.toString());

      assertThat(run.exitCode()).isEqualTo(2);
      assertThat(run.err().strip())
          .startsWith("rlhf demo: cannot listen on 127.0.0.1:8080: ")
          .endsWith("; stop what uses it, or choose another --port (0 picks a free one)")
          .doesNotContain("\n");
      assertThat(run.out()).doesNotContain("=== demo");
    } finally {
      taken.close();
    }
  }

  @Test
  void demoRefusesTheGoldRowItsLiveRunWouldDropBeforePretraining(@TempDir Path dir)
      throws IOException {
    var workdir = pretrainFailsAtOnce(dir);

    var run = run("demo", "--live", "--gold", "--port", "0", "--workdir", workdir.toString());

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err().strip())
        .isEqualTo(
            "rlhf demo: --live replaces the reward and PPO stages, the gold-reward run among them:"
                + " drop --gold");
    assertThat(run.out()).doesNotContain("=== demo");
  }

  private static CliRun ppoLive(Path dir, String port) throws IOException {
    TinyModels.write(dir); // dir/sft and dir/rm
    return run(
        "ppo",
        "--sft",
        dir.resolve("sft").toString(),
        "--reward",
        "live",
        "--rm-out",
        dir.resolve("rm-live").toString(),
        "--out",
        dir.resolve("ppo").toString(),
        "--port",
        port);
  }

  /**
   * A demo workdir whose pretrain stage fails at once (its --out is a file): a demo that missed the
   * port check fails this test in seconds instead of training first.
   */
  private static Path pretrainFailsAtOnce(Path dir) throws IOException {
    var workdir = Files.createDirectories(dir.resolve("demo"));
    Files.writeString(workdir.resolve("base"), "not a directory");
    return workdir;
  }
}
