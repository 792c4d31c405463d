package io.streamrlhf.schemas;

import java.util.List;
import java.util.Optional;

/**
 * What every reader of a record type requires of it, beyond parsing: the contracts the {@code
 * .avsc} docs state (one log-prob per response token, K ≥ 2 answers, one rank per response) and the
 * values no writer of the loop produces (an empty id, a NaN score). Each is a {@link RecordCheck};
 * readers add what depends on their model (vocabulary, context) on top.
 */
public final class RecordChecks {
  /**
   * Log-probs are ≤ 0; float32 log-softmax may round a near-certain token's to just above 0, so a
   * little slack.
   */
  static final float LOG_PROB_SLACK = 1e-3f;

  private RecordChecks() {}

  /** A prompt needs an id and some text (an empty one has no token to generate from). */
  public static final RecordCheck<Prompt> PROMPT =
      p -> {
        if (p.getPromptId().isEmpty()) return problem("empty promptId");
        if (p.getText().isEmpty()) return problem("empty text");
        return Optional.empty();
      };

  /**
   * A rollout as the learner's update needs it: ids, at least one prompt and one response token, no
   * negative token id, one finite behaviour and one finite reference log-prob (≤ 0) per response
   * token, a finite score, reward statistics that normalise (std > 0), and per-token policy
   * versions that a sampler could have written (below).
   */
  public static final RecordCheck<Rollout> ROLLOUT =
      r -> {
        var id = idProblem("rolloutId", r.getRolloutId());
        if (id.isPresent()) return id;
        if (r.getPromptId().isEmpty()) return problem("empty promptId");
        if (r.getPromptTokens().isEmpty()) return problem("no prompt tokens");
        int n = r.getResponseTokens().size();
        if (n == 0) return problem("empty response");
        if (r.getBehaviourLogProbs().size() != n || r.getRefLogProbs().size() != n) {
          return problem(
              n
                  + " response tokens but "
                  + r.getBehaviourLogProbs().size()
                  + " behaviour and "
                  + r.getRefLogProbs().size()
                  + " reference log-probs");
        }
        var tokens =
            firstNegative("prompt", r.getPromptTokens())
                .or(() -> firstNegative("response", r.getResponseTokens()));
        if (tokens.isPresent()) return tokens;
        var logProbs =
            badLogProb("behaviour", r.getBehaviourLogProbs())
                .or(() -> badLogProb("reference", r.getRefLogProbs()));
        if (logProbs.isPresent()) return logProbs;
        if (!Float.isFinite(r.getRmScore())) return problem("rmScore " + r.getRmScore());
        if (r.getRewardMean() != null && !Float.isFinite(r.getRewardMean()))
          return problem("rewardMean " + r.getRewardMean());
        if (r.getRewardStd() != null && !(Float.isFinite(r.getRewardStd()) && r.getRewardStd() > 0))
          return problem("rewardStd " + r.getRewardStd() + " (must be finite and > 0)");
        if (r.getRewardLikelihoodWeight() != null && !Float.isFinite(r.getRewardLikelihoodWeight()))
          return problem("rewardLikelihoodWeight " + r.getRewardLikelihoodWeight());
        if (r.getPolicyVersion() < 0) return problem("policyVersion " + r.getPolicyVersion());
        var versions = tokenVersionProblem(r, n);
        if (versions.isPresent()) return versions;
        if (r.getSampleIndex() < 0) return problem("sampleIndex " + r.getSampleIndex());
        return Optional.empty();
      };

  /** A label request needs its ids and at least two answers to rank. */
  public static final RecordCheck<LabelRequest> LABEL_REQUEST =
      q -> {
        if (q.getRequestId().isEmpty()) return problem("empty requestId");
        if (q.getPromptId().isEmpty()) return problem("empty promptId");
        if (q.getResponses().size() < 2)
          return problem(q.getResponses().size() + " responses (a ranking needs at least 2)");
        return Optional.empty();
      };

  /**
   * A comparison needs its ids, at least two responses and one rank (≥ 0) per response. Whether it
   * teaches anything (every pair tied, too long for the reward model) is the trainer's call.
   */
  public static final RecordCheck<Comparison> COMPARISON =
      c -> {
        var id = idProblem("comparisonId", c.getComparisonId());
        if (id.isPresent()) return id;
        if (c.getLabelerId().isEmpty()) return problem("empty labelerId");
        int n = c.getResponses().size();
        if (n < 2) return problem(n + " responses (a ranking needs at least 2)");
        if (c.getRanks().size() != n)
          return problem(c.getRanks().size() + " ranks for " + n + " responses");
        for (int rank : c.getRanks()) if (rank < 0) return problem("negative rank " + rank);
        return Optional.empty();
      };

  /**
   * Per-token policy versions, when present (older records have none: every token by
   * policyVersion): one per response token, starting at policyVersion (the oldest, which staleness
   * checks use) and never going back (a sampler only ever moves to newer weights).
   */
  private static Optional<String> tokenVersionProblem(Rollout r, int n) {
    var versions = r.getTokenVersions();
    if (versions.isEmpty()) return Optional.empty();
    if (versions.size() != n)
      return problem(n + " response tokens but " + versions.size() + " token versions");
    if (versions.get(0) != r.getPolicyVersion())
      return problem(
          "token versions start at v"
              + versions.get(0)
              + ", not at policyVersion v"
              + r.getPolicyVersion()
              + " (the oldest)");
    for (int i = 1; i < n; i++) {
      if (versions.get(i) < versions.get(i - 1))
        return problem(
            "token version v" + versions.get(i) + " at " + i + " after v" + versions.get(i - 1));
    }
    return Optional.empty();
  }

  /** The longest id a reader records (in its applied-id log, one per line). */
  public static final int MAX_ID_LENGTH = 256;

  /**
   * An id the readers log, one per line, and count on reading back: non-empty, at most {@link
   * #MAX_ID_LENGTH} characters, no control character or line separator.
   */
  private static Optional<String> idProblem(String field, String id) {
    if (id.isEmpty()) return problem("empty " + field);
    if (id.length() > MAX_ID_LENGTH)
      return problem(field + " of " + id.length() + " characters (at most " + MAX_ID_LENGTH + ")");
    for (int i = 0; i < id.length(); i++) {
      char c = id.charAt(i);
      if (Character.isISOControl(c) || c == '\u2028' || c == '\u2029')
        return problem(field + " with a control character or line break at " + i);
    }
    return Optional.empty();
  }

  private static Optional<String> firstNegative(String field, List<Integer> tokens) {
    for (int i = 0; i < tokens.size(); i++) {
      if (tokens.get(i) < 0) return problem(field + " token " + tokens.get(i) + " at " + i);
    }
    return Optional.empty();
  }

  private static Optional<String> badLogProb(String field, List<Float> logProbs) {
    for (int i = 0; i < logProbs.size(); i++) {
      float p = logProbs.get(i);
      if (!Float.isFinite(p) || p > LOG_PROB_SLACK)
        return problem(field + " log-prob " + p + " at " + i + " (must be finite and <= 0)");
    }
    return Optional.empty();
  }

  private static Optional<String> problem(String reason) {
    return Optional.of(reason);
  }
}
