package io.streamrlhf.actors.gateway;

import io.streamrlhf.schemas.Comparison;
import io.streamrlhf.schemas.LabelRequest;
import java.nio.charset.StandardCharsets;
import java.text.Normalizer;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * One ranking as it reaches the gateway, from the page, the JSON API or a labeling tool's webhook,
 * before it becomes a {@link Comparison}.
 *
 * @param requestId the {@link LabelRequest} it answers
 * @param ranks checked against the request's K answers by the gateway ({@link Ranks#check})
 * @param labelerId who ranked; tools' users are prefixed with the tool ({@code label-studio/7})
 * @param kind {@link #HUMAN} or the tool's name, as the Comparison schema defines it
 * @param idempotencyKey the client's key, or the tool's annotation id; null: none
 */
record Submission(
    String requestId, List<?> ranks, String labelerId, String kind, String idempotencyKey) {
  static final String HUMAN = "human";
  static final String LABEL_STUDIO = "label-studio";
  static final String ARGILLA = "argilla";

  /** What a Comparison's kind is when TASKS.md's simulated labelers wrote it. */
  static final String SIMULATED = "simulated";

  /** Letters and digits of any script (José, 李雷), no spaces or separators of CSV and JSON. */
  private static final Pattern LABELER = Pattern.compile("[\\p{L}\\p{M}\\p{N}._@/+:-]{1,100}");

  private static final int MAX_KEY_CHARS = 200;

  Submission {
    if (requestId == null || requestId.isBlank())
      throw Rejection.badRequest("requestId missing: say which label request this ranks");
    labelerId = checkLabeler(labelerId);
    if (idempotencyKey != null
        && (idempotencyKey.isBlank() || idempotencyKey.length() > MAX_KEY_CHARS))
      throw Rejection.badRequest("idempotency key must be 1-" + MAX_KEY_CHARS + " characters");
  }

  /**
   * One spelling per name (NFKC): é typed as e and a combining accent, or ａｌｉｃｅ typed in full
   * width, is the same labeler as é and alice.
   */
  static String spelling(String labelerId) {
    var folded = Normalizer.normalize(labelerId, Normalizer.Form.NFKC);
    // NFKC also spells ½ as 1⁄2, outside the allowed characters: such a name keeps its NFC form
    return LABELER.matcher(folded).matches() || !LABELER.matcher(labelerId).matches()
        ? folded
        : Normalizer.normalize(labelerId, Normalizer.Form.NFC);
  }

  /**
   * Whether a person's labelerId would pass for a labeling tool's user or a simulated labeler: the
   * tools' ids are theirs, and an id given twice is refused as a second answer, so a spoofed one
   * would both mix the figures and turn away the real labeler's ranking.
   */
  static boolean reservedForOthers(String labelerId) {
    return labelerId.startsWith(LABEL_STUDIO + "/")
        || labelerId.startsWith(ARGILLA + "/")
        || labelerId.matches("(.*/)?" + SIMULATED + "-\\d+");
  }

  /**
   * A labeler id as the API takes it, in its one spelling ({@link #spelling}).
   *
   * @throws Rejection (400) when it is missing or has characters outside the allowed set
   */
  static String checkLabeler(Object labelerId) {
    return checkLabeler(labelerId, "labelerId");
  }

  /** The same, naming the field or query parameter it came in as {@code name}. */
  static String checkLabeler(Object labelerId, String field) {
    if (labelerId instanceof String id) {
      var name = spelling(id);
      if (LABELER.matcher(name).matches()) return name;
    }
    throw Rejection.badRequest(
        field
            + " must be 1-100 characters of letters, digits and ._@/+:- (got "
            + (labelerId == null ? "none" : "'" + clip(String.valueOf(labelerId)) + "'")
            + ")");
  }

  /**
   * The key under which a retry is recognised: a client's key is its own, so the same key from
   * another labeler or tool is another submission.
   */
  String scopedKey() {
    return idempotencyKey == null ? null : scopedKey(kind, labelerId, idempotencyKey);
  }

  /** {@link #scopedKey()} of a comparison read back: the same key for the same submission. */
  static String scopedKey(String kind, String labelerId, String idempotencyKey) {
    return kind + '\u0000' + labelerId + '\u0000' + idempotencyKey;
  }

  /**
   * The comparison this submission records. Its id is derived from the scoped idempotency key when
   * there is one, so should the broker write a record whose acknowledgement was lost and the client
   * then retry, both copies carry the same comparisonId and a reader can drop the second.
   */
  Comparison toComparison(LabelRequest request, List<Integer> checkedRanks, Instant now) {
    var id =
        idempotencyKey == null
            ? UUID.randomUUID()
            : UUID.nameUUIDFromBytes(scopedKey().getBytes(StandardCharsets.UTF_8));
    return Comparison.newBuilder()
        .setComparisonId("cmp-" + id)
        .setRequestId(request.getRequestId())
        .setPromptId(request.getPromptId())
        .setPromptText(request.getPromptText())
        .setResponses(List.copyOf(request.getResponses()))
        .setRanks(checkedRanks)
        .setLabelerId(labelerId)
        .setKind(kind)
        .setIdempotencyKey(idempotencyKey)
        .setCreatedAt(now)
        .build();
  }

  static String clip(String s) {
    var oneLine = s.replaceAll("\\s+", " ");
    return oneLine.length() <= 60 ? oneLine : oneLine.substring(0, 60) + "...";
  }
}
