package io.streamrlhf.actors.gateway;

import static io.streamrlhf.actors.gateway.Fixtures.comparison;
import static io.streamrlhf.actors.gateway.Fixtures.request;
import static org.assertj.core.api.Assertions.assertThat;

import io.streamrlhf.schemas.LabelRequest;
import org.junit.jupiter.api.Test;

class RequestBookTest {
  @Test
  void aRequestWaitsUntilAPersonRanksItAndSimulatedLabelersDoNotTakeItAway() {
    var book = new RequestBook();
    book.addRequest(request("r1", "cba", "abc"));
    book.addRequest(request("r2", "cba", "abc"));
    book.addRequest(request("r1", "cba", "abc")); // a replay
    assertThat(book.waiting()).isEqualTo(2);

    book.addComparison(comparison("c1", "r1", "sim-0", "simulated", null, 0, 1));
    assertThat(book.waiting()).isEqualTo(2);
    assertThat(book.next("alice").map(LabelRequest::getRequestId)).contains("r1");

    book.addComparison(comparison("c2", "r1", "bob", "human", "k", 1, 0));
    assertThat(book.waiting()).isEqualTo(1);
    assertThat(book.answered("r1", "bob")).isTrue();
    assertThat(book.next("alice").map(LabelRequest::getRequestId)).contains("r2");
    assertThat(book.perLabeler()).containsEntry("sim-0", 1L).containsEntry("bob", 1L);
    assertThat(book.byKey("human\u0000bob\u0000k")).isPresent();
  }

  @Test
  void aSkippedOrAnsweredRequestIsNotOfferedToThatLabelerAgain() {
    var book = new RequestBook();
    book.addRequest(request("r1", "cba", "abc"));
    book.skip("r1", "alice");
    assertThat(book.next("alice")).isEmpty();
    assertThat(book.next("bob")).isPresent();
    // still waiting for a person, but not for alice
    assertThat(book.waiting()).isEqualTo(1);
    assertThat(book.waitingFor("alice")).isZero();
    assertThat(book.waitingFor("bob")).isEqualTo(1);
  }

  @Test
  void aComparisonOfItsOwnIsCountedOnceWhicheverOfAckAndReadBackComesFirst() {
    var book = new RequestBook();
    book.addRequest(request("r1", "cba", "abc"));
    var ackFirst = comparison("c1", "r1", "alice", "human", "k1", 0, 1);
    book.sending(ackFirst);
    book.addOwn(ackFirst);
    book.addComparison(ackFirst);
    var readFirst = comparison("c2", "r1", "bob", "human", "k2", 0, 1);
    book.sending(readFirst);
    book.addComparison(readFirst);
    book.addOwn(readFirst);
    assertThat(book.comparisons()).isEqualTo(2);
    assertThat(book.perLabeler()).containsEntry("alice", 1L).containsEntry("bob", 1L);
  }

  @Test
  void theOldestRequestsAreForgottenBeyondCapacity() {
    var book = new RequestBook(2);
    book.addRequest(request("r1", "a", "b"));
    book.addRequest(request("r2", "a", "b"));
    book.addRequest(request("r3", "a", "b"));
    assertThat(book.request("r1")).isEmpty();
    assertThat(book.waiting()).isEqualTo(2);
  }

  @Test
  void aCompletedRequestStopsWaiting() {
    var book = new RequestBook();
    book.addRequest(request("r1", "a", "b"));
    book.complete("r1");
    assertThat(book.waiting()).isZero();
    assertThat(book.request("r1")).isPresent();
  }

  @Test
  void aRequestCompletedBeforeItIsReadDoesNotWait() {
    // the tool may report its record completed before this gateway has read the request
    var book = new RequestBook();
    book.complete("r1");
    book.addRequest(request("r1", "a", "b"));
    assertThat(book.waiting()).isZero();
    assertThat(book.next("alice")).isEmpty();
  }

  @Test
  void aRequestRankedBeforeItIsReadDoesNotWait() {
    // rlhf.comparisons may be read before rlhf.label-requests on a restart; one person is enough
    assertThat(RequestBook.PEOPLE_PER_REQUEST).isEqualTo(1);
    var book = new RequestBook();
    book.addComparison(comparison("c1", "r1", "bob", "human", "k", 0, 1));
    book.addRequest(request("r1", "cba", "abc"));
    assertThat(book.waiting()).isZero();
    assertThat(book.next("alice")).isEmpty();
  }

  @Test
  void theNewestRewardVersionTheRequestsTellIsKeptWhateverOrderTheyArriveIn() {
    var book = new RequestBook();
    assertThat(book.newestRewardVersion()).isZero();
    book.addRequest(request("r1", "cba", "abc")); // reward model v1
    var newer = LabelRequest.newBuilder(request("r2", "cba", "abc")).setRewardVersion(7).build();
    book.addRequest(newer);
    book.addRequest(request("r3", "cba", "abc")); // an older version after a newer one
    assertThat(book.newestRewardVersion()).isEqualTo(7);
  }
}
