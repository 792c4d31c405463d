package io.streamrlhf.learner.stream;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamrlhf.learner.stream.BatchAssembly.Arrival;
import io.streamrlhf.learner.stream.BatchAssembly.Verdict;
import java.util.Map;
import org.junit.jupiter.api.Test;

class BatchAssemblyTest {
  private static final int MAX_LAG = 1;

  /** 2 prompts × 2 responses per batch. */
  private final RolloutLedger ledger = new RolloutLedger(2, 2);

  private final BatchAssembly<String> assembly = new BatchAssembly<>(ledger, 2, 2);

  private static Arrival<String> rollout(
      long batch, int prompt, int sample, long policyVersion, int partition, long offset) {
    var id = new PromptId("r1", batch, prompt);
    return new Arrival<>(id, sample, policyVersion, partition, offset, id + "#" + sample);
  }

  @Test
  void updateUTrainsOnExactlyBatchUWhileLaterBatchesWaitForTheirs() {
    // batch 1 arrives first (an actor ahead of another), batch 0 out of order
    assertThat(assembly.offer(rollout(1, 0, 0, 0, 2, 40), 0, 2, MAX_LAG)).isEqualTo(Verdict.HELD);
    assertThat(assembly.offer(rollout(1, 1, 1, 1, 1, 7), 0, 2, MAX_LAG)).isEqualTo(Verdict.HELD);
    assertThat(assembly.offer(rollout(0, 1, 1, 0, 0, 12), 0, 2, MAX_LAG)).isEqualTo(Verdict.TAKEN);
    assertThat(assembly.offer(rollout(0, 0, 1, 0, 0, 11), 0, 2, MAX_LAG)).isEqualTo(Verdict.TAKEN);
    assertThat(assembly.offer(rollout(0, 1, 0, 0, 1, 5), 0, 2, MAX_LAG)).isEqualTo(Verdict.TAKEN);
    assertThat(assembly.complete(0)).isFalse();
    assertThat(assembly.missing(0)).containsExactly("0:0#0");
    assertThat(assembly.offer(rollout(0, 0, 0, 0, 0, 10), 0, 2, MAX_LAG)).isEqualTo(Verdict.TAKEN);
    assertThat(assembly.complete(0)).isTrue();

    assertThat(assembly.take(0))
        .extracting(Arrival::rollout)
        .as("batch 0 alone, in prompt-then-sample order")
        .containsExactly("r1:0:0#0", "r1:0:0#1", "r1:0:1#0", "r1:0:1#1");
    assertThat(ledger.firstOpenBatch()).isEqualTo(1);
    assertThat(assembly.held()).isEqualTo(2);
    // a restart must read the held rollouts of batch 1 again
    assertThat(assembly.firstHeldOffsets()).isEqualTo(Map.of(1, 7L, 2, 40L));
    assertThat(assembly.missing(1)).containsExactly("1:0#1", "1:1#0");
  }

  @Test
  void aSlotTheCheckpointCountsAsConsumedIsADuplicateAndTheBatchCompletesWithoutIt() {
    // resumed with prompt 1's second answer of batch 0 already trained on before the checkpoint
    ledger.markConsumed(new PromptId("r1", 0, 1), 1);
    assertThat(assembly.offer(rollout(0, 1, 1, 0, 0, 3), 0, 2, MAX_LAG))
        .as("read again after the resume: trained once already")
        .isEqualTo(Verdict.DUPLICATE);
    assertThat(assembly.offer(rollout(0, 0, 0, 0, 0, 0), 0, 2, MAX_LAG)).isEqualTo(Verdict.TAKEN);
    assertThat(assembly.offer(rollout(0, 0, 1, 0, 0, 1), 0, 2, MAX_LAG)).isEqualTo(Verdict.TAKEN);
    assertThat(assembly.offer(rollout(0, 1, 0, 0, 0, 2), 0, 2, MAX_LAG)).isEqualTo(Verdict.TAKEN);
    assertThat(assembly.complete(0)).isTrue();
    assertThat(assembly.take(0)).hasSize(3);

    // two held rollouts on one partition: a restart reads from the earlier of them
    assertThat(assembly.offer(rollout(1, 0, 0, 0, 1, 9), 1, 3, MAX_LAG)).isEqualTo(Verdict.TAKEN);
    assertThat(assembly.offer(rollout(2, 0, 0, 1, 1, 9), 1, 3, MAX_LAG)).isEqualTo(Verdict.HELD);
    assertThat(assembly.offer(rollout(2, 1, 0, 1, 1, 7), 1, 3, MAX_LAG)).isEqualTo(Verdict.HELD);
    assertThat(assembly.firstHeldOffsets()).isEqualTo(Map.of(1, 7L));
  }

  @Test
  void aStaleRolloutIsNotUsedAndItsSlotWaitsForTheAnswerToThePromptAskedAgain() {
    // batch 3 at version 3 tolerates v2 or newer; v1 is too stale
    assertThat(assembly.offer(rollout(3, 1, 0, 1, 0, 1), 3, 5, MAX_LAG)).isEqualTo(Verdict.STALE);
    assertThat(assembly.missing(3)).contains("3:1#0");
    assertThat(ledger.consumed(new PromptId("r1", 3, 1), 0)).as("not consumed: not lost").isFalse();
    assertThat(assembly.offer(rollout(3, 1, 0, 2, 0, 9), 3, 5, MAX_LAG)).isEqualTo(Verdict.TAKEN);
    // batch 4, held while the learner is at v3, is judged by the version that will train it: v4
    assertThat(assembly.offer(rollout(4, 0, 0, 3, 0, 10), 3, 5, MAX_LAG)).isEqualTo(Verdict.HELD);
    assertThat(assembly.offer(rollout(4, 0, 1, 2, 0, 11), 3, 5, MAX_LAG)).isEqualTo(Verdict.STALE);
  }

  @Test
  void onlyNewAnswersToPublishedPromptsOfThisRunsShapeAreHeld() {
    assertThat(assembly.offer(rollout(2, 0, 0, 2, 0, 1), 2, 4, MAX_LAG)).isEqualTo(Verdict.TAKEN);
    assertThat(assembly.offer(rollout(2, 0, 0, 2, 1, 2), 2, 4, MAX_LAG))
        .as("a second answer to the same prompt")
        .isEqualTo(Verdict.DUPLICATE);
    assertThat(assembly.offer(rollout(1, 0, 0, 1, 0, 3), 2, 4, MAX_LAG))
        .as("a batch already trained on")
        .isEqualTo(Verdict.DUPLICATE);
    assertThat(assembly.offer(rollout(3, 0, 0, 4, 0, 4), 2, 4, MAX_LAG))
        .as("sampled by a version newer than its batch (actors ahead of a resumed learner)")
        .isEqualTo(Verdict.HELD);
    assertThat(assembly.offer(rollout(2, 2, 0, 2, 0, 5), 2, 4, MAX_LAG))
        .as("prompt index beyond the batch")
        .isEqualTo(Verdict.FOREIGN);
    assertThat(assembly.offer(rollout(4, 0, 0, 3, 0, 6), 2, 4, MAX_LAG))
        .as("a batch an earlier process published and this one has not yet")
        .isEqualTo(Verdict.AHEAD);
    assertThat(assembly.held()).isEqualTo(2);
  }

  @Test
  void slotsAnEarlierCheckpointConsumedCountAsDone() {
    // a ledger of a learner that filled updates from any batch: one slot of batch 0 used already
    ledger.markConsumed(new PromptId("r1", 0, 1), 1);
    for (var slot : new int[][] {{0, 0}, {0, 1}, {1, 0}})
      assembly.offer(rollout(0, slot[0], slot[1], 0, 0, slot[0] * 2 + slot[1]), 0, 1, MAX_LAG);
    assertThat(assembly.complete(0)).isTrue();
    assertThat(assembly.take(0)).hasSize(3);
    assertThat(ledger.firstOpenBatch()).isEqualTo(1);
  }
}
