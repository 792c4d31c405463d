package io.streamrlhf.infra.cli;

import static io.streamrlhf.infra.cli.CliRun.run;
import static org.assertj.core.api.Assertions.assertThat;

import io.streamrlhf.infra.bench.AsyncRace;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

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

    // without the comparison they changed nothing, unsaid
    var rounds = run("bench", "--quick", "--rounds", "2");
    assertThat(rounds.exitCode()).isEqualTo(2);
    assertThat(rounds.err().strip())
        .isEqualTo(
            "rlhf bench: --rounds is for the peer comparison: add --compare-peer, or drop it");
  }

  /**
   * What would fail only after minutes of measuring is refused first: a --race-sft that holds no
   * SFT model (the race runs last), a peer that cannot run (it was noted, and the bench exited 0).
   */
  @Test
  void aRaceModelOrPeerThatCannotBeIsRefusedBeforeMeasuring(@TempDir Path dir) {
    var race = run("bench", "--only", "race", "--race-sft", dir.toString());
    assertThat(race.exitCode()).isEqualTo(2);
    assertThat(race.err().strip())
        .isEqualTo(
            "rlhf bench: --race-sft "
                + dir
                + " holds no checkpoint: give a directory written by rlhf sft");

    // a model for a race that does not run: it was ignored
    var weights = run("bench", "--only", "weights", "--race-sft", dir.toString());
    assertThat(weights.exitCode()).isEqualTo(2);
    assertThat(weights.err().strip())
        .isEqualTo("rlhf bench: --only weights runs no race: drop --race-sft");

    var script = dir.resolve("no-peer.py");
    var peer = run("bench", "--compare-peer", "--peer-script", script.toString());
    assertThat(peer.exitCode()).isEqualTo(2);
    assertThat(peer.err().strip())
        .isEqualTo(
            "rlhf bench: peer script not found at "
                + script
                + ": --compare-peer cannot run the peer (drop it to measure ours alone)");
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
