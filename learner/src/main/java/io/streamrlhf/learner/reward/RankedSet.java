package io.streamrlhf.learner.reward;

import io.streamrlhf.tasks.Labeler;
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
   * Ranks from a labeler's ordering (indices best first, as {@code tasks.Labeler#rank} returns),
   * identical responses tied at their first copy's rank ({@link Labeler#tieCopies}).
   */
  public static int[] ranksOf(int[] bestFirst, List<int[]> responses) {
    return Labeler.ranks(bestFirst, responses, Arrays::equals);
  }
}
