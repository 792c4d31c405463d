package io.streamrlhf.infra.cli;

import static io.streamrlhf.infra.cli.CliRun.run;
import static org.assertj.core.api.Assertions.assertThat;

import io.streamrlhf.infra.bench.AsyncRace;
import org.junit.jupiter.api.Test;

/** {@code rlhf bench --only}: what it accepts, refused in one line before anything is measured. */
class BenchOnlyCliTest {
  @Test
  void onlyNamesAPartAndDoesNotMixWithThePeerComparison() {
    var unknown = run("bench", "--only", "everything");
    assertThat(unknown.exitCode()).isEqualTo(2);
    assertThat(unknown.err()).contains("expected one of [weights, race]");

    var mixed = run("bench", "--only", "weights", "--compare-peer");
    assertThat(mixed.exitCode()).isEqualTo(2);
    assertThat(mixed.err().strip())
        .isEqualTo(
            "rlhf bench: --compare-peer compares every key; it cannot be combined with --only")
        .doesNotContain("\n");
  }

  @Test
  void theRacesFiguresNameNoDirectoryTheBenchHasDeleted() {
    var mode =
        new AsyncRace.Mode(
            1, 24, 30.0, 0.1, 0.2, 1, 1, 768, "/tmp/race/async/learner", "/tmp/race/gold.csv");
    var race = new AsyncRace.Result("0", "1", mode, mode, 1.1, null);

    var figures = BenchCommand.raceFigures(race);

    assertThat(figures.toString()).doesNotContain("/tmp/race");
    assertThat(figures.get("async").get("wall_seconds").asDouble()).isEqualTo(30.0);
    assertThat(figures.get("sync").has("rollouts_applied")).isTrue();
  }
}
