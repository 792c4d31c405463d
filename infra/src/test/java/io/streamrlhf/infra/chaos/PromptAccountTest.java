package io.streamrlhf.infra.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class PromptAccountTest {
  /** Every rollout id of {@code batches} batches of 2 prompts × 2 samples of run r1. */
  private static List<String> all(int batches) {
    var ids = new ArrayList<String>();
    for (int b = 0; b < batches; b++)
      for (int i = 0; i < 2; i++)
        for (int k = 0; k < 2; k++) ids.add("r1:" + b + ":" + i + "#" + k);
    return ids;
  }

  @Test
  void everyRolloutAppliedOnceIsExactlyOnce() {
    var account = PromptAccount.of(all(3), null, 3, 2, 2);
    assertThat(account).isEqualTo(new PromptAccount(6, 6, 0, 0, 12, 0, 0));
    assertThat(account.exactlyOnce()).isTrue();
  }

  @Test
  void aRepeatedRolloutDuplicatesItsPromptAndAMissingOneLosesIt() {
    var ids = all(3);
    ids.add("r1:1:0#1"); // applied twice
    ids.remove("r1:2:1#0"); // never applied
    var account = PromptAccount.of(ids, null, 3, 2, 2);
    assertThat(account.promptsDuplicated()).isEqualTo(1);
    assertThat(account.promptsLost()).isEqualTo(1);
    assertThat(account.promptsTrained()).isEqualTo(4);
    assertThat(account.rolloutsDuplicated()).isEqualTo(1);
    assertThat(account.exactlyOnce()).isFalse();
  }

  @Test
  void rolloutsOfAnExtraBatchDoNotMakeUpForALostPrompt() {
    var ids = all(2);
    ids.remove("r1:0:0#0"); // dropped as stale
    ids.addAll(List.of("r1:2:0#0", "r1:2:0#1")); // the extra batch published to make up the count
    var account = PromptAccount.of(ids, null, 2, 2, 2);
    assertThat(account.promptsLost()).isEqualTo(1);
    assertThat(account.rolloutsExtra()).isEqualTo(2);
    assertThat(account.exactlyOnce()).isFalse();
  }

  @Test
  void nothingAppliedLosesEveryPrompt() {
    assertThat(PromptAccount.of(List.of(), "r1", 2, 2, 2).promptsLost()).isEqualTo(4);
    assertThat(PromptAccount.none(2, 2).promptsLost()).isEqualTo(4);
  }
}
