package io.streamrlhf.learner.ppo;

import ai.djl.ndarray.NDArray;
import io.streamrlhf.model.ByteTokenizer;
import io.streamrlhf.model.RewardFunction;
import io.streamrlhf.model.ScoringBatch;
import io.streamrlhf.tasks.Oracle;
import java.util.Arrays;

/**
 * The oracle as PPO's reward: the gold reward of Gao et al. 2023, the hidden preference the
 * labelers follow, with no reward model between it and the policy. Training against it checks the
 * RL machinery apart from the reward model ({@code rlhf ppo --reward oracle}). Reads each row's
 * prompt and response back from the batch's tokens; a response is terminated when it holds the
 * end-of-sequence token (TASKS.md).
 */
public final class OracleReward implements RewardFunction {
  @Override
  public NDArray scores(ScoringBatch batch) {
    long b = batch.batchSize();
    int width = batch.promptWidth() + batch.responseWidth();
    long[] tokens = batch.tokens().toLongArray();
    long[] responseTokens = batch.responseTokens().toLongArray();
    var scores = new float[(int) b];
    for (int row = 0; row < b; row++) {
      var prompt =
          ByteTokenizer.decode(ints(tokens, row * width, row * width + batch.promptWidth()));
      var response =
          ints(responseTokens, row * batch.responseWidth(), (row + 1) * batch.responseWidth());
      boolean terminated = Arrays.stream(response).anyMatch(t -> t == ByteTokenizer.EOS);
      scores[row] = (float) score(prompt, ByteTokenizer.decode(response), terminated);
    }
    return batch.tokens().getManager().create(scores);
  }

  /** The oracle's score of a response, with a clear error for a prompt that is not a task. */
  static double score(String prompt, String response, boolean terminated) {
    try {
      return Oracle.grade(prompt, response, terminated).score();
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(
          "--reward oracle grades task prompts only: " + e.getMessage(), e);
    }
  }

  private static int[] ints(long[] values, int from, int to) {
    var out = new int[to - from];
    for (int i = from; i < to; i++) out[i - from] = (int) values[i];
    return out;
  }
}
