package io.streamrlhf.learner.reward;

import io.streamrlhf.model.ByteTokenizer;
import io.streamrlhf.tasks.Completion;
import io.streamrlhf.tasks.Labeler;
import io.streamrlhf.tasks.Oracle;
import io.streamrlhf.tasks.Task;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * One labeler's ranking of K responses to a prompt as the reward trainer keeps it: the texts as
 * they arrived on {@code rlhf.comparisons} (compact in a checkpoint, readable in it), turned into
 * tokens when trained on ({@link #rankedSet}).
 *
 * <p>A comparison carries texts, not tokens, so whether a response ended with end-of-sequence is
 * read from its length: a response is at most {@value Completion#MAX_NEW_TOKENS} tokens, the
 * end-of-sequence token among them (TASKS.md "Text format"), so one of that many bytes or more ran
 * out of budget and any shorter one ended with end-of-sequence — how the actor sampled it.
 *
 * @param id the comparison's id
 * @param group the label request it answers, or its own id when it answers none: the unit of the
 *     held-out split and of labeler agreement
 * @param labelerId who ranked
 * @param prompt the prompt text, {@code "{instruction}\n"}
 * @param responses the K response texts
 * @param ranks {@code ranks[k]} of {@code responses[k]}, 0 best, equal a tie; identical responses
 *     tied at the first copy's rank ({@link Labeler#tieCopies})
 * @param sftLogLikelihoods log π_SFT(y|x) of every response, filled in when the trainer takes the
 *     comparison in (the SFT model is frozen, so it never changes); null before
 */
public record RankedComparison(
    String id,
    String group,
    String labelerId,
    String prompt,
    List<String> responses,
    int[] ranks,
    double[] sftLogLikelihoods) {
  public RankedComparison {
    responses = List.copyOf(responses);
    if (responses.size() != ranks.length) {
      throw new IllegalArgumentException(
          "one rank per response: " + responses.size() + " responses, " + ranks.length + " ranks");
    }
  }

  /**
   * A labeler's ranking as received, with identical responses tied; or what makes it unusable, as a
   * one-line reason.
   *
   * @param contextLength the longest prompt + response the reward model reads
   */
  public static Checked check(
      String id,
      String requestId,
      String labelerId,
      String prompt,
      List<String> responses,
      List<Integer> ranks,
      int contextLength) {
    if (responses.size() < 2) return Checked.unusable("fewer than 2 responses");
    if (ranks.size() != responses.size()) {
      return Checked.unusable(ranks.size() + " ranks for " + responses.size() + " responses");
    }
    if (prompt.isEmpty()) return Checked.unusable("empty prompt");
    int promptTokens = prompt.getBytes(StandardCharsets.UTF_8).length;
    for (var response : responses) {
      if (promptTokens + responseTokens(response).length > contextLength) {
        return Checked.unusable(
            "prompt and response longer than the reward model's context of "
                + contextLength
                + " tokens");
      }
    }
    if (ranks.stream().anyMatch(r -> r < 0)) return Checked.unusable("a negative rank");
    var tied =
        Labeler.tieCopies(
            ranks.stream().mapToInt(Integer::intValue).toArray(), responses, String::equals);
    if (BradleyTerry.pairs(new int[][] {tied}).isEmpty()) {
      return Checked.unusable("every pair tied: no preference to learn");
    }
    var group = requestId == null || requestId.isEmpty() ? id : requestId;
    return new Checked(
        new RankedComparison(id, group, labelerId, prompt, responses, tied, null), null);
  }

  /** {@link #check}'s outcome: the comparison, or the reason it cannot be used. */
  public record Checked(RankedComparison comparison, String unusable) {
    static Checked unusable(String reason) {
      return new Checked(null, reason);
    }
  }

  /** This comparison with the SFT log-likelihood of each response. */
  public RankedComparison withSftLogLikelihoods(double[] logLikelihoods) {
    return new RankedComparison(id, group, labelerId, prompt, responses, ranks, logLikelihoods);
  }

  public int k() {
    return ranks.length;
  }

  /** The tokens the reward model scores: the prompt's bytes, each response's as it was sampled. */
  public RankedSet rankedSet() {
    var tokens = new ArrayList<int[]>(responses.size());
    for (var response : responses) tokens.add(responseTokens(response));
    return new RankedSet(ByteTokenizer.encode(prompt), tokens, ranks);
  }

  /** A response's tokens: its bytes, then end-of-sequence when it ended within the budget. */
  public static int[] responseTokens(String response) {
    var bytes = ByteTokenizer.encode(response);
    return terminated(response) ? ByteTokenizer.withEos(bytes) : bytes;
  }

  /** Whether the response ended with end-of-sequence: shorter than the budget, in bytes. */
  public static boolean terminated(String response) {
    return response.getBytes(StandardCharsets.UTF_8).length < Completion.MAX_NEW_TOKENS;
  }

  /**
   * The oracle's score of every response (TASKS.md), when the prompt is one of the task suite's;
   * empty for a prompt it cannot grade (a person's own question).
   */
  public Optional<double[]> oracleScores() {
    Task task;
    try {
      task = Task.parse(prompt);
    } catch (IllegalArgumentException notASuitePrompt) {
      return Optional.empty();
    }
    var scores = new double[responses.size()];
    for (int k = 0; k < scores.length; k++) {
      var response = responses.get(k);
      scores[k] = Oracle.grade(task, response, terminated(response)).score();
    }
    return Optional.of(scores);
  }
}
