package io.streamrlhf.actors.gateway;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.util.List;
import org.junit.jupiter.api.Test;

class ArgillaWebhookTest {
  /** A response.created event in the documented shape, trimmed to what matters here. */
  static JsonObject responseCreated(String status, JsonArray ranking) {
    return new JsonObject()
        .put("type", "response.created")
        .put("version", 1)
        .put("timestamp", "2024-09-26T14:05:30.182364Z")
        .put(
            "data",
            new JsonObject()
                .put("id", "7164a58e-3611-4b0a-98cc-9184bc92dc5a")
                .put(
                    "values",
                    new JsonObject()
                        .put("comment", new JsonObject().put("value", "fine"))
                        .put("ranking", new JsonObject().put("value", ranking)))
                .put("status", status)
                .put(
                    "record",
                    new JsonObject()
                        .put("id", "88654411-4eec-4d17-ad73-e5baf59d0efb")
                        .put("status", "pending")
                        .put("fields", new JsonObject().put("prompt", "Reverse abc."))
                        .put("metadata", new JsonObject())
                        .put("external_id", "r1"))
                .put("user", new JsonObject().put("id", "df11").put("username", "carol")));
  }

  static JsonArray ranking(int... rankByAnswer) {
    var items = new JsonArray();
    for (int i = 0; i < rankByAnswer.length; i++)
      items.add(new JsonObject().put("value", Integer.toString(i)).put("rank", rankByAnswer[i]));
    return items;
  }

  @Test
  void aSubmittedRankingBecomesRanksWithTheResponseIdAsKey() {
    var event = ArgillaWebhook.read(responseCreated("submitted", ranking(2, 1, 2)));
    var s = ((ToolEvent.Ranked) event).submission();
    assertThat(s.requestId()).isEqualTo("r1");
    assertThat(s.ranks()).isEqualTo(List.of(1, 0, 1));
    assertThat(s.labelerId()).isEqualTo("argilla/carol");
    assertThat(s.kind()).isEqualTo("argilla");
    assertThat(s.idempotencyKey()).isEqualTo("7164a58e-3611-4b0a-98cc-9184bc92dc5a");
  }

  /** A draft submitted later arrives as response.updated: a ranking, marked as a revision. */
  @Test
  void aSubmittedUpdateIsARankingMarkedAsARevision() {
    var created =
        (ToolEvent.Ranked) ArgillaWebhook.read(responseCreated("submitted", ranking(1, 2)));
    assertThat(created.revision()).isFalse();
    var update = responseCreated("submitted", ranking(2, 1)).put("type", "response.updated");
    var updated = (ToolEvent.Ranked) ArgillaWebhook.read(update);
    assertThat(updated.revision()).isTrue();
    assertThat(updated.submission().ranks()).isEqualTo(List.of(1, 0));
    assertThat(updated.submission().idempotencyKey())
        .isEqualTo(created.submission().idempotencyKey());
    var draftUpdate = responseCreated("draft", ranking(2, 1)).put("type", "response.updated");
    assertThat(ArgillaWebhook.read(draftUpdate)).isInstanceOf(ToolEvent.Ignored.class);
  }

  @Test
  void draftsAndOtherEventsAreIgnoredAndRecordCompletedRetiresTheRequest() {
    assertThat(ArgillaWebhook.read(responseCreated("draft", ranking(1, 2))))
        .isInstanceOf(ToolEvent.Ignored.class);
    var completed =
        new JsonObject()
            .put("type", "record.completed")
            .put("data", new JsonObject().put("status", "completed").put("external_id", "r9"));
    assertThat(ArgillaWebhook.read(completed)).isEqualTo(new ToolEvent.Completed("r9"));
    var dataset = new JsonObject().put("type", "dataset.created").put("data", new JsonObject());
    assertThat(ArgillaWebhook.read(dataset)).isInstanceOf(ToolEvent.Ignored.class);
  }

  @Test
  void aDiscardedResponseIsIgnoredNotCountedAsARanking() {
    // Argilla's statuses are draft, submitted and discarded: only submitted is a ranking
    assertThat(ArgillaWebhook.read(responseCreated("discarded", ranking(1, 2))))
        .isInstanceOf(ToolEvent.Ignored.class);
  }

  @Test
  void aRecordWithoutExternalIdNamesItsRequestInMetadata() {
    var event = responseCreated("submitted", ranking(1, 2));
    var record = event.getJsonObject("data").getJsonObject("record");
    record.remove("external_id");
    record.put("metadata", new JsonObject().put("requestId", "r1"));
    var s = ((ToolEvent.Ranked) ArgillaWebhook.read(event)).submission();
    assertThat(s.requestId()).isEqualTo("r1");
  }

  @Test
  void optionsThatAreNotAnswerIndicesOrAMissingRankAreBadRequests() {
    var named = new JsonArray().add(new JsonObject().put("value", "best-one").put("rank", 1));
    assertThatThrownBy(() -> ArgillaWebhook.read(responseCreated("submitted", named)))
        .isInstanceOf(Rejection.class)
        .hasMessageContaining("not an answer index");
    var unranked =
        new JsonArray()
            .add(new JsonObject().put("value", "0").put("rank", 1))
            .add(new JsonObject().put("value", "1").putNull("rank"));
    assertThatThrownBy(() -> ArgillaWebhook.read(responseCreated("submitted", unranked)))
        .hasMessageContaining("has no rank");
    // truncated, 1.7 and 1.2 would have been a tie
    var fractional =
        new JsonArray()
            .add(new JsonObject().put("value", "0").put("rank", 1.7))
            .add(new JsonObject().put("value", "1").put("rank", 1.2));
    assertThatThrownBy(() -> ArgillaWebhook.read(responseCreated("submitted", fractional)))
        .isInstanceOf(Rejection.class)
        .hasMessageContaining("has rank 1.7: ranks are whole numbers");
    var huge =
        new JsonArray()
            .add(new JsonObject().put("value", "0").put("rank", 4294967296L))
            .add(new JsonObject().put("value", "1").put("rank", 2));
    assertThatThrownBy(() -> ArgillaWebhook.read(responseCreated("submitted", huge)))
        .isInstanceOf(Rejection.class)
        .hasMessageContaining("has rank 4294967296");
    // ranks run 1..K: read as an order, -1 would have made answer 0 the best, and 9 of 2 the worst
    for (int bad : new int[] {-1, 0, 3}) {
      var outside =
          new JsonArray()
              .add(new JsonObject().put("value", "0").put("rank", bad))
              .add(new JsonObject().put("value", "1").put("rank", 2));
      assertThatThrownBy(() -> ArgillaWebhook.read(responseCreated("submitted", outside)))
          .isInstanceOf(Rejection.class)
          .hasMessage("ranking value[0] (answer 0) has rank " + bad + ", outside 1..2 (1 is best)");
    }
  }
}
