package io.streamrlhf.learner.reward;

import java.util.Arrays;
import java.util.List;

/**
 * K responses to one prompt with a labeler's ranking, in {@link BradleyTerry}'s rank format: {@code
 * ranks[k]} is response k's rank, 0 for the best, equal ranks a tie.
 *
 * @param prompt prompt tokens
 * @param responses the K response tokens (EOS included when the response terminated)
 */
public record RankedSet(int[] prompt, List<int[]> responses, int[] ranks) {
  public RankedSet {
    if (responses.size() != ranks.length || responses.size() < 2) {
      throw new IllegalArgumentException(
          "a ranked set needs K >= 2 responses and one rank each, got "
              + responses.size()
              + " and "
              + ranks.length);
    }
    responses = List.copyOf(responses);
  }

  public int k() {
    return ranks.length;
  }

  /**
   * Ranks from a labeler's ordering (indices best first, as {@code tasks.Labeler#rank} returns):
   * rank = position in the ordering, except that identical responses share the best position any of
   * them got. Two copies of one response carry no preference — whichever a noisy labeler put first
   * is noise — so they become a tie, which the loss skips.
   */
  public static int[] ranksOf(int[] bestFirst, List<int[]> responses) {
    var ranks = new int[bestFirst.length];
    for (int position = 0; position < bestFirst.length; position++)
      ranks[bestFirst[position]] = position;
    for (int i = 0; i < ranks.length; i++) {
      for (int j = 0; j < ranks.length; j++) {
        if (Arrays.equals(responses.get(i), responses.get(j)))
          ranks[i] = Math.min(ranks[i], ranks[j]);
      }
    }
    return ranks;
  }
}
