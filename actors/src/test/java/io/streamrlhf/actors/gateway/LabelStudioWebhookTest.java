package io.streamrlhf.actors.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.List;
import org.junit.jupiter.api.Test;

class LabelStudioWebhookTest {
  /** An ANNOTATION_CREATED delivery in the documented shape, trimmed to what matters here. */
  static JsonObject annotationCreated(Object rankerValue) {
    return new JsonObject()
        .put("action", "ANNOTATION_CREATED")
        .put(
            "annotation",
            new JsonObject()
                .put("id", 17)
                .put(
                    "result",
                    new JsonArray()
                        .add(
                            new JsonObject()
                                .put("from_name", "rank")
                                .put("to_name", "answers")
                                .put("type", "ranker")
                                .put("value", new JsonObject().put("ranker", rankerValue))))
                .put("was_cancelled", false)
                .put("ground_truth", false)
                .put("task", 19)
                .put("completed_by", 1))
        .put(
            "task",
            new JsonObject()
                .put("id", 19)
                .put(
                    "data",
                    new JsonObject()
                        .put("requestId", "r1")
                        .put("prompt", "Reverse abc.")
                        .put(
                            "items",
                            new JsonArray()
                                .add(new JsonObject().put("id", "a0").put("body", "cba"))
                                .add(new JsonObject().put("id", "a1").put("body", "abc"))
                                .add(new JsonObject().put("id", "a2").put("body", "cab")))))
        .put("project", new JsonObject().put("id", 2).put("title", "rlhf"));
  }

  @Test
  void anOrderOfItemIdsBecomesRanksWithTheAnnotationIdAsKey() {
    var event =
        LabelStudioWebhook.read(
            annotationCreated(
                new JsonObject().put("rank", new JsonArray().add("a2").add("a0").add("a1"))));
    var s = ((ToolEvent.Ranked) event).submission();
    assertThat(s.requestId()).isEqualTo("r1");
    assertThat(s.ranks()).isEqualTo(List.of(1, 2, 0));
    assertThat(s.labelerId()).isEqualTo("label-studio/1");
    assertThat(s.kind()).isEqualTo("label-studio");
    assertThat(s.idempotencyKey()).isEqualTo("17");
  }

  @Test
  void olderVersionsSendAPlainArrayAndBucketsAreTiesBestFirst() {
    var plain =
        LabelStudioWebhook.read(annotationCreated(new JsonArray().add("a1").add("a0").add("a2")));
    assertThat(((ToolEvent.Ranked) plain).submission().ranks()).isEqualTo(List.of(1, 0, 2));
    var buckets =
        LabelStudioWebhook.read(
            annotationCreated(
                new JsonObject()
                    .put("best", new JsonArray().add("a0").add("a2"))
                    .put("worse", new JsonArray().add("a1"))
                    .put("_", new JsonArray())));
    assertThat(((ToolEvent.Ranked) buckets).submission().ranks()).isEqualTo(List.of(0, 1, 0));
  }

  @Test
  void anItemLeftInTheUnbucketedColumnIsNotRanked() {
    // "_" holds the items nobody dragged into a bucket: not a worst-of-all bucket
    var buckets =
        new JsonObject()
            .put("best", new JsonArray().add("a0"))
            .put("worse", new JsonArray().add("a1"))
            .put("_", new JsonArray().add("a2"));
    assertThatThrownBy(() -> LabelStudioWebhook.read(annotationCreated(buckets)))
        .isInstanceOf(Rejection.class)
        .hasMessageContaining("answer 2 is not ranked");
  }

  @Test
  void aCompletedByUserObjectNamesTheLabelerByEmail() {
    var payload = annotationCreated(new JsonArray().add("a0").add("a1").add("a2"));
    payload
        .getJsonObject("annotation")
        .put("completed_by", new JsonObject().put("id", 7).put("email", "ann@example.org"));
    var s = ((ToolEvent.Ranked) LabelStudioWebhook.read(payload)).submission();
    assertThat(s.labelerId()).isEqualTo("label-studio/ann@example.org");
  }

  @Test
  void otherActionsAndSkippedTasksAreAcknowledgedAndIgnored() {
    var updated = annotationCreated(new JsonArray()).put("action", "ANNOTATION_UPDATED");
    assertThat(LabelStudioWebhook.read(updated)).isInstanceOf(ToolEvent.Ignored.class);
    var skipped = annotationCreated(new JsonArray());
    skipped.getJsonObject("annotation").put("was_cancelled", true);
    assertThat(LabelStudioWebhook.read(skipped)).isInstanceOf(ToolEvent.Ignored.class);
  }

  @Test
  void unrankedOrUnknownItemsAndMissingTaskDataAreBadRequests() {
    assertThatThrownBy(
            () -> LabelStudioWebhook.read(annotationCreated(new JsonArray().add("a0").add("a1"))))
        .isInstanceOf(Rejection.class)
        .hasMessageContaining("answer 2 is not ranked");
    assertThatThrownBy(
            () ->
                LabelStudioWebhook.read(
                    annotationCreated(new JsonArray().add("a0").add("a1").add("zz"))))
        .hasMessageContaining("zz");
    var noTask = annotationCreated(new JsonArray());
    noTask.remove("task");
    assertThatThrownBy(() -> LabelStudioWebhook.read(noTask)).hasMessageContaining("task must be");
  }
}
