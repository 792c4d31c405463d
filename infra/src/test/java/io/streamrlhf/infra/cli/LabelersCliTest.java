package io.streamrlhf.infra.cli;

import static io.streamrlhf.infra.cli.CliRun.run;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** {@code rlhf labelers} refuses values it cannot run with before it touches a broker. */
class LabelersCliTest {

  @Test
  void badRatesCountsAndSharesAreTheUsersMistakeWithTheFlagNamed() {
    String[][] cases = {
      {"--rate", "0", "--rate must be a positive number of requests per second, got 0.0"},
      {"--rate", "-2", "--rate must be a positive number"},
      {"--labelers", "0", "--labelers must be at least 1, got 0"},
      {"--beta", "-1", "--beta must be a finite number >= 0, got -1.0"},
      {"--overlap", "1.5", "--overlap must be a share from 0 to 1, got 1.5"},
      {"--calibration-requests", "0", "--calibration-requests must be in 1..10000, got 0"},
      {"--group", " ", "--group must name a consumer group, got \" \""},
    };
    for (var c : cases) {
      // an address nothing listens on: a run that got past the checks would fail differently
      var run = run("labelers", "--bootstrap", "127.0.0.1:1", c[0], c[1]);
      assertThat(run.exitCode()).as(c[0] + " " + c[1]).isEqualTo(2);
      assertThat(run.err().strip()).startsWith("rlhf labelers: " + c[2]).doesNotContain("\n");
    }
  }

  @Test
  void anOverlapNeedsASecondLabeler() {
    for (var share : new String[] {"0.5", "1"}) {
      var run =
          run("labelers", "--bootstrap", "127.0.0.1:1", "--labelers", "1", "--overlap", share);
      assertThat(run.exitCode()).isEqualTo(2);
      assertThat(run.err().strip())
          .isEqualTo(
              "rlhf labelers: --overlap "
                  + share
                  + " needs a second labeler to rank the same requests: give --labelers 2 or"
                  + " more, or drop --overlap");
    }
  }

  @Test
  void theBootstrapAddressIsRequired() {
    var run = run("labelers");
    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err()).contains("Missing required option: '--bootstrap=HOST:PORT'");
  }
}
