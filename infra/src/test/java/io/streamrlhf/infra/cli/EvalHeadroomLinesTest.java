package io.streamrlhf.infra.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamrlhf.learner.eval.EvalTable;
import io.streamrlhf.learner.eval.Evaluation;
import java.util.List;
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
    // 0.6 - 0.5 = 0.1 is within two standard errors of 0.06: noise too, though above one
    var withinTwo = new Evaluation.Headroom(win(0.6, 0.06, 8), null);
    assertThat(EvalCommand.headroomLines(withinTwo, win(0.55, 0.01, 8)))
        .doesNotContain("PPO won")
        .contains("no headroom beyond two standard errors");
  }

  @Test
  void theMeanLengthCountsEverySampledTokenEndOfSequenceIncluded() {
    var records =
        List.of(
            new EvalTable.Record("sft", "p", "add", "1", "a", true, 1, null, null, 3),
            new EvalTable.Record("sft", "q", "add", "1", "ab", true, 1, null, null, 6));
    assertThat(EvalCommand.lengthLine(records, Map.of("sft", "SFT")).strip())
        .isEqualTo("Mean response length in tokens: SFT 4.5");
  }
}
