package io.streamrlhf.actors.gateway;

import static io.streamrlhf.actors.gateway.Fixtures.request;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class SubmissionTest {
  private static final Instant NOW = Instant.ofEpochMilli(2_000);

  @Test
  void anIdempotencyKeyOf200CharactersIsTakenAnd201AreNot() {
    var longest = "k".repeat(200);
    assertThat(new Submission("r1", List.of(0, 1), "alice", Submission.HUMAN, longest))
        .extracting(Submission::idempotencyKey)
        .isEqualTo(longest);
    assertThatThrownBy(
            () -> new Submission("r1", List.of(0, 1), "alice", Submission.HUMAN, longest + "k"))
        .isInstanceOf(Rejection.class)
        .hasMessage("idempotency key must be 1-200 characters");
  }

  @Test
  void theSameKeyFromTwoLabelersGivesTwoComparisonIds() {
    // the reward trainer drops a comparisonId it has seen: bob's ranking must not look like a
    // retry of alice's because both clients happened to send Idempotency-Key k
    var request = request("r1", "cba", "abc");
    var alice =
        new Submission("r1", List.of(0, 1), "alice", Submission.HUMAN, "k")
            .toComparison(request, List.of(0, 1), NOW);
    var bob =
        new Submission("r1", List.of(1, 0), "bob", Submission.HUMAN, "k")
            .toComparison(request, List.of(1, 0), NOW);
    // name-based (MD5) UUIDs of "human\0alice\0k" and "human\0bob\0k", worked out outside Java
    assertThat(alice.getComparisonId()).isEqualTo("cmp-535a9aa1-285c-3478-ac01-f45e66ab0352");
    assertThat(bob.getComparisonId()).isEqualTo("cmp-8a658cec-49a9-32b1-93da-835eb9a79a20");
    assertThat(alice.getIdempotencyKey()).isEqualTo("k").isEqualTo(bob.getIdempotencyKey());
  }
}
