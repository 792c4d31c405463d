package io.streamrlhf.learner.reward;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamrlhf.model.ByteTokenizer;
import io.streamrlhf.tasks.Completion;
import java.util.List;
import org.junit.jupiter.api.Test;

class RankedComparisonTest {
  private static final String PROMPT = "Reverse abc.\n"; // 13 bytes

  private static RankedComparison.Checked check(
      List<String> responses, List<Integer> ranks, int contextLength) {
    return RankedComparison.check("c1", "r1", "alice", PROMPT, responses, ranks, contextLength);
  }

  @Test
  void aResponseFillingTheWholeBudgetRanOutOfItAndHasNoEndOfSequence() {
    // MAX_NEW_TOKENS = 48 tokens, end-of-sequence among them: 48 bytes left no room for it
    var full = "ab".repeat(Completion.MAX_NEW_TOKENS / 2);
    assertThat(full).hasSize(48);
    assertThat(RankedComparison.terminated(full)).isFalse();
    assertThat(RankedComparison.responseTokens(full)).hasSize(48).doesNotContain(ByteTokenizer.EOS);
    // one byte shorter: 47 bytes and the end-of-sequence, 48 tokens
    var shorter = full.substring(1);
    assertThat(RankedComparison.terminated(shorter)).isTrue();
    assertThat(RankedComparison.responseTokens(shorter)).hasSize(48).endsWith(ByteTokenizer.EOS);
  }

  @Test
  void aNegativeRankIsUnusable() {
    var checked = check(List.of("cba", "xy"), List.of(-1, 0), 256);
    assertThat(checked.comparison()).isNull();
    assertThat(checked.unusable()).isEqualTo("a negative rank");
  }

  @Test
  void aRankingWithEveryPairTiedIsUnusable() {
    assertThat(check(List.of("cba", "xy"), List.of(0, 0), 256).unusable())
        .isEqualTo("every pair tied: no preference to learn");
    // two copies of one answer tie at the first copy's rank whatever the labeler said: [0, 0]
    var copies = check(List.of("cba", "cba"), List.of(0, 1), 256);
    assertThat(copies.comparison()).isNull();
    assertThat(copies.unusable()).isEqualTo("every pair tied: no preference to learn");
  }

  @Test
  void aResponseFitsAContextExactlyItsPromptAndTokensLong() {
    // the longer answer: 13 prompt bytes + "cba" + end-of-sequence = 17 tokens ("xy": 16)
    var fits = check(List.of("cba", "xy"), List.of(0, 1), 17);
    assertThat(fits.unusable()).isNull();
    assertThat(fits.comparison().ranks()).containsExactly(0, 1);
    assertThat(check(List.of("cba", "xy"), List.of(0, 1), 16).unusable())
        .isEqualTo("prompt and response longer than the reward model's context of 16 tokens");
  }
}
