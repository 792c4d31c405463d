package io.streamrlhf.actors.gateway;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.HashMap;

/**
 * Argilla's webhook events (its "Webhooks internals" page: {@code type}, {@code version}, {@code
 * timestamp}, {@code data}; delivered and signed as Standard Webhooks, see {@link
 * StandardWebhooks}) turned into what they mean for the gateway.
 *
 * <ul>
 *   <li>{@code response.created} or {@code response.updated} with status {@code submitted}: a
 *       ranking (a response saved as a draft first arrives as an update when it is submitted). The
 *       record is a label request ({@code external_id} = the requestId, or {@code
 *       metadata.requestId}); the dataset's ranking question has one option per answer whose value
 *       is the answer's index in the request ("0", "1", ...), and Argilla's ranks (1 best, equal
 *       ranks are ties) become the comparison's. The response id is the idempotency key, the user's
 *       name the labeler. An update that changes a ranking already counted is acknowledged and left
 *       alone: the first is on {@code rlhf.comparisons}.
 *   <li>{@code record.completed}: the record has all the responses its dataset asks for; the
 *       request stops waiting. It carries no responses (Argilla sends those as response events).
 *   <li>anything else: acknowledged and ignored.
 * </ul>
 */
final class ArgillaWebhook {
  static final String RESPONSE_CREATED = "response.created";
  static final String RESPONSE_UPDATED = "response.updated";
  static final String RECORD_COMPLETED = "record.completed";

  private ArgillaWebhook() {}

  static ToolEvent read(JsonObject payload) {
    var type = PayloadFields.text(payload, "type", "type");
    var data = PayloadFields.object(payload, "data", "data");
    return switch (type) {
      case RESPONSE_CREATED -> response(data, false);
      case RESPONSE_UPDATED -> response(data, true);
      case RECORD_COMPLETED -> new ToolEvent.Completed(requestId(data, "data"));
      default -> new ToolEvent.Ignored(type + " carries no ranking");
    };
  }

  private static ToolEvent response(JsonObject data, boolean revision) {
    var status = PayloadFields.text(data, "status", "data.status");
    if (!"submitted".equals(status))
      return new ToolEvent.Ignored("a " + status + " response is not a ranking until submitted");
    var requestId = requestId(PayloadFields.object(data, "record", "data.record"), "data.record");
    var ranking = rankingValue(PayloadFields.object(data, "values", "data.values"));
    var ordinalByAnswer = new HashMap<Integer, Integer>();
    for (int i = 0; i < ranking.size(); i++) {
      var path = "ranking value[" + i + "]";
      var item = (JsonObject) ranking.getValue(i);
      var option = PayloadFields.id(item.getValue("value"), path + ".value");
      int answer;
      try {
        answer = Integer.parseInt(option);
      } catch (NumberFormatException e) {
        throw Rejection.badRequest(
            path
                + ".value '"
                + Submission.clip(option)
                + "' is not an answer index: name the ranking question's options 0..K-1");
      }
      if (!(item.getValue("rank") instanceof Number rank))
        throw Rejection.badRequest(path + " (answer " + option + ") has no rank");
      var hasRank = path + " (answer " + option + ") has rank " + rank;
      // 1.7 and 1.2 are not a tie, nor 4294967296 the best
      if (rank.doubleValue() != rank.intValue())
        throw Rejection.badRequest(hasRank + ": ranks are whole numbers of an int's range");
      // Argilla ranks 1 (best) to K: -1 or 0 is no better than 1, nor 9 of 4 answers a rank
      if (rank.intValue() < 1 || rank.intValue() > ranking.size())
        throw Rejection.badRequest(hasRank + ", outside 1.." + ranking.size() + " (1 is best)");
      if (ordinalByAnswer.put(answer, rank.intValue()) != null)
        throw Rejection.badRequest("answer " + answer + " is ranked twice");
    }
    var ranks = Ranks.fromOrdinals(ordinalByAnswer, ranking.size());
    var user = PayloadFields.object(data, "user", "data.user");
    var name =
        user.getValue("username") instanceof String s && !s.isBlank()
            ? s
            : PayloadFields.id(user.getValue("id"), "data.user.id");
    var key = PayloadFields.id(data.getValue("id"), "data.id");
    return new ToolEvent.Ranked(
        new Submission(requestId, ranks, Submission.ARGILLA + "/" + name, Submission.ARGILLA, key),
        revision);
  }

  /** The one value of the response that is a ranking: a list of {value, rank} items. */
  private static JsonArray rankingValue(JsonObject values) {
    for (var question : values) {
      if (question.getValue() instanceof JsonObject answer
          && answer.getValue("value") instanceof JsonArray items
          && !items.isEmpty()
          && items.stream()
              .allMatch(
                  i ->
                      i instanceof JsonObject o && o.containsKey("value") && o.containsKey("rank")))
        return items;
    }
    throw Rejection.badRequest(
        "data.values has no ranking question answer (a list of {value, rank}): "
            + "give the dataset a RankingQuestion");
  }

  private static String requestId(JsonObject record, String path) {
    if (record.getValue("external_id") instanceof String id && !id.isBlank()) return id;
    if (record.getValue("metadata") instanceof JsonObject meta
        && meta.getValue("requestId") instanceof String id
        && !id.isBlank()) return id;
    throw Rejection.badRequest(
        path + " names no label request: set the record's external_id to the requestId");
  }
}
