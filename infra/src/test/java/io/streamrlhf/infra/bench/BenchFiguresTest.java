package io.streamrlhf.infra.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BenchFiguresTest {

  @Test
  void figureIsTheMedianWithItsSpread() {
    var odd = ModelBench.Figure.of(new double[] {5, 1, 3});
    assertThat(odd.median()).isEqualTo(3);
    assertThat(odd.min()).isEqualTo(1);
    assertThat(odd.max()).isEqualTo(5);
    assertThat(odd.runs()).isEqualTo(3);
    // even count: the mean of the two middle runs
    assertThat(ModelBench.Figure.of(new double[] {4, 1, 2, 10}).median()).isEqualTo(3);
  }

  @Test
  void missingPeerScriptIsReportedNotThrown(@TempDir Path dir) {
    var outcome = PeerRun.run(dir.resolve("peer.py"), 1, true);
    assertThat(outcome.figures()).isEmpty();
    assertThat(outcome.note()).contains("peer script not found");
  }
}
