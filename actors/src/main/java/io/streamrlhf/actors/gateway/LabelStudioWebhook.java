package io.streamrlhf.actors.gateway;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Label Studio's annotation webhook (its "Webhook event format reference": {@code action}, the
 * {@code annotation} with its {@code result}, the {@code task} with its {@code data}, and the
 * {@code project}) turned into a submission.
 *
 * <p>The project's tasks carry a label request: {@code data.requestId} and {@code data.items}, one
 * item per answer in the request's order (each with an {@code id} the ranker refers to). The
 * labeling config pairs a {@code List} of those items with a {@code Ranker}; its result is either
 * an order of item ids (best first) or, with {@code Bucket}s, groups of ids, the buckets in the
 * order the config lists them, best first, each bucket a tie. The annotation's id is the
 * idempotency key, its {@code completed_by} the labeler.
 */
final class LabelStudioWebhook {
  static final String CREATED = "ANNOTATION_CREATED";

  /** Where Label Studio keeps items not moved to any bucket: they are unranked. */
  private static final String UNBUCKETED = "_";

  private LabelStudioWebhook() {}

  static ToolEvent read(JsonObject payload) {
    var action = PayloadFields.text(payload, "action", "action");
    if (!CREATED.equals(action))
      return new ToolEvent.Ignored(action + " carries no new ranking (only " + CREATED + " does)");
    var annotation = PayloadFields.object(payload, "annotation", "annotation");
    if (Boolean.TRUE.equals(annotation.getValue("was_cancelled")))
      return new ToolEvent.Ignored("the task was skipped in Label Studio");
    var task = PayloadFields.object(payload, "task", "task");
    var data = PayloadFields.object(task, "data", "task.data");
    var requestId = PayloadFields.text(data, "requestId", "task.data.requestId");
    var items = PayloadFields.array(data, "items", "task.data.items");
    var answerById = new HashMap<String, Integer>();
    var bodies = new ArrayList<String>(); // what the labeler saw, checked against the request
    for (int i = 0; i < items.size(); i++) {
      if (!(items.getValue(i) instanceof JsonObject item))
        throw Rejection.badRequest("task.data.items[" + i + "] must be an object with an id");
      answerById.put(PayloadFields.id(item.getValue("id"), "task.data.items[" + i + "].id"), i);
      if (bodies != null && item.getValue("body") instanceof String body) bodies.add(body);
      else bodies = null; // a task without the texts: nothing to check
    }
    var ranker = rankerResult(PayloadFields.array(annotation, "result", "annotation.result"));
    var groups = new ArrayList<List<Integer>>();
    var value = ranker.getValue("ranker");
    if (value instanceof JsonArray order) {
      for (var id : order) groups.add(List.of(answer(id, answerById)));
    } else if (value instanceof JsonObject columns && columns.size() == 1) {
      // no buckets: the one column is the order (named after the tag; older versions "_")
      var only = columns.getValue(columns.fieldNames().iterator().next());
      if (!(only instanceof JsonArray order))
        throw Rejection.badRequest("annotation ranker column must be an array of item ids");
      for (var id : order) groups.add(List.of(answer(id, answerById)));
    } else if (value instanceof JsonObject buckets) {
      for (Map.Entry<String, Object> bucket : buckets) {
        if (UNBUCKETED.equals(bucket.getKey())) continue;
        if (!(bucket.getValue() instanceof JsonArray ids))
          throw Rejection.badRequest("ranker bucket '" + bucket.getKey() + "' must be an array");
        var group = new ArrayList<Integer>();
        for (var id : ids) group.add(answer(id, answerById));
        groups.add(group);
      }
    } else {
      throw Rejection.badRequest("annotation ranker value must be an order or buckets of item ids");
    }
    var ranks = Ranks.fromGroups(groups, items.size());
    var labeler = Submission.LABEL_STUDIO + "/" + completedBy(annotation.getValue("completed_by"));
    var key = PayloadFields.id(annotation.getValue("id"), "annotation.id");
    return new ToolEvent.Ranked(
        new Submission(requestId, ranks, labeler, Submission.LABEL_STUDIO, key), false, bodies);
  }

  private static JsonObject rankerResult(JsonArray result) {
    for (var entry : result) {
      if (entry instanceof JsonObject r && "ranker".equals(r.getValue("type"))) {
        return PayloadFields.object(r, "value", "annotation.result[ranker].value");
      }
    }
    throw Rejection.badRequest(
        "annotation.result has no ranker result: label the task with a List and a Ranker");
  }

  private static int answer(Object id, Map<String, Integer> answerById) {
    var answer = answerById.get(PayloadFields.id(id, "ranked item id"));
    if (answer == null)
      throw Rejection.badRequest("ranked item id " + id + " is not one of task.data.items");
    return answer;
  }

  /** Label Studio sends the user's id, or in some versions the user object. */
  private static String completedBy(Object user) {
    if (user instanceof JsonObject u) {
      var email = u.getValue("email");
      return email instanceof String s && !s.isBlank()
          ? s
          : PayloadFields.id(u.getValue("id"), "annotation.completed_by.id");
    }
    return PayloadFields.id(user, "annotation.completed_by");
  }
}
