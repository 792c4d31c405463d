package io.streamrlhf.infra.cli;

import static io.streamrlhf.infra.cli.CliRun.run;
import static org.assertj.core.api.Assertions.assertThat;

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
}
