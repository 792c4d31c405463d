package io.streamrlhf.infra.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamrlhf.learner.eval.EvalTable;
import io.streamrlhf.learner.eval.Evaluation;
import java.util.Map;
import org.junit.jupiter.api.Test;

class EvalHeadroomLinesTest {
  private static EvalTable.WinEstimate win(double win, double se, int n) {
    return new EvalTable.WinEstimate(win, se, n, Map.of("add", win));
  }

  @Test
  void pposShareIsOfTheHeadroomWhenThereIsOneAndNotClaimedWhenThereIsNone() {
    var ppo = win(0.607, 0.009, 8);
    var real = new Evaluation.Headroom(win(0.791, 0.009, 8), win(0.612, 0.011, 8));
    // (0.607 - 0.5) / (0.791 - 0.5) = 0.368
    assertThat(EvalCommand.headroomLines(real, ppo)).contains("; PPO won 37% of the oracle's");

    // best of 1 is SFT itself: a headroom of -0.25 ± 0.11 is noise, and a share of it meaningless
    var none = new Evaluation.Headroom(win(0.25, 0.11, 1), null);
    assertThat(EvalCommand.headroomLines(none, ppo))
        .doesNotContain("PPO won")
        .contains("no headroom beyond two standard errors, so no share of it for PPO");
  }
}
