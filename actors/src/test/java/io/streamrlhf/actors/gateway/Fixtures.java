package io.streamrlhf.actors.gateway;

import io.streamrlhf.schemas.Comparison;
import io.streamrlhf.schemas.LabelRequest;
import java.time.Instant;
import java.util.List;

/** Records the gateway's unit tests build in one line. */
final class Fixtures {
  private Fixtures() {}

  static LabelRequest request(String id, String... responses) {
    return LabelRequest.newBuilder()
        .setRequestId(id)
        .setPromptId("p-" + id)
        .setPromptText("Reverse abc.\n")
        .setResponses(List.of(responses))
        .setPolicyVersion(3)
        .setRewardVersion(1)
        .setActorId("actor-0")
        .setCreatedAt(Instant.ofEpochMilli(1_000))
        .build();
  }

  static Comparison comparison(
      String id, String requestId, String labeler, String kind, String key, Integer... ranks) {
    return Comparison.newBuilder()
        .setComparisonId(id)
        .setRequestId(requestId)
        .setPromptId("p-" + requestId)
        .setPromptText("Reverse abc.\n")
        .setResponses(List.of("cba", "abc"))
        .setRanks(List.of(ranks))
        .setLabelerId(labeler)
        .setKind(kind)
        .setIdempotencyKey(key)
        .setCreatedAt(Instant.ofEpochMilli(2_000))
        .build();
  }
}
