package io.streamrlhf.infra.chaos;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;

/**
 * The exactly-once check of a run: the rollout ids its learner applied ({@code run:batch:index#k},
 * from the checkpoint's applied-rollout log) against the ones an uninterrupted run applies (every
 * prompt of batches 0 .. batches − 1, each with all its K samples).
 *
 * @param promptsExpected prompts of batches 0 .. batches − 1
 * @param promptsTrained expected prompts with every sample applied exactly once
 * @param promptsDuplicated expected prompts with a sample applied more than once
 * @param promptsLost expected prompts with a sample never applied (dropped as stale, or lost)
 * @param rolloutsApplied rollout ids in the log
 * @param rolloutsDuplicated log entries that repeat an id already in it
 * @param rolloutsExtra applied ids outside the expected set (extra prompt batches published to make
 *     up for dropped rollouts, or ids of another run)
 */
public record PromptAccount(
    long promptsExpected,
    long promptsTrained,
    long promptsDuplicated,
    long promptsLost,
    long rolloutsApplied,
    long rolloutsDuplicated,
    long rolloutsExtra) {

  /** Nothing was applied (no checkpoint to read): every expected prompt is lost. */
  public static PromptAccount none(long batches, int promptsPerBatch) {
    long expected = batches * promptsPerBatch;
    return new PromptAccount(expected, 0, 0, expected, 0, 0, 0);
  }

  /**
   * @param applied the applied rollout ids, in order (a repeat shows twice)
   * @param run the run's id (the part before the first ':'); taken from the ids when null
   */
  public static PromptAccount of(
      List<String> applied, String run, long batches, int promptsPerBatch, int samples) {
    if (run == null && !applied.isEmpty()) run = applied.get(0).split(":", 2)[0];
    Map<String, Integer> timesApplied = new HashMap<>();
    for (var id : applied) timesApplied.merge(id, 1, Integer::sum);
    var expectedIds = new HashSet<String>();
    long trained = 0, duplicated = 0, lost = 0;
    for (long b = 0; b < batches; b++) {
      for (int i = 0; i < promptsPerBatch; i++) {
        boolean missing = false, twice = false;
        for (int k = 0; k < samples; k++) {
          var id = run + ":" + b + ":" + i + "#" + k;
          expectedIds.add(id);
          int n = timesApplied.getOrDefault(id, 0);
          missing |= n == 0;
          twice |= n > 1;
        }
        if (missing) lost++;
        if (twice) duplicated++;
        if (!missing && !twice) trained++;
      }
    }
    long extra = timesApplied.keySet().stream().filter(id -> !expectedIds.contains(id)).count();
    return new PromptAccount(
        batches * promptsPerBatch,
        trained,
        duplicated,
        lost,
        applied.size(),
        applied.size() - timesApplied.size(),
        extra);
  }

  /** Every expected prompt trained on exactly once, nothing applied twice. */
  public boolean exactlyOnce() {
    return promptsTrained == promptsExpected && rolloutsDuplicated == 0;
  }
}
