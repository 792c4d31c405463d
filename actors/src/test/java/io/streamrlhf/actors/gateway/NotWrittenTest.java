package io.streamrlhf.actors.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.common.errors.NotEnoughReplicasException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.junit.jupiter.api.Test;

/** A comparison the broker did not take is worth retrying only when the same write may succeed. */
class NotWrittenTest {
  private static final Duration ACK = Duration.ofSeconds(3);

  /** As the gateway's send reports a failed acknowledgement: its exception around Kafka's. */
  private static Throwable failed(Throwable kafka) {
    return new IllegalStateException(
        "comparison c not acknowledged", new ExecutionException(kafka));
  }

  @Test
  void aTimeoutOrARetriableErrorIsA503WithRetryAfter() {
    for (var cause :
        new Throwable[] {
          failed(new org.apache.kafka.common.errors.TimeoutException("expired")),
          new IllegalStateException("not acknowledged within 5 s", new TimeoutException())
        }) {
      var r = FeedbackGateway.notWritten(cause, ACK);
      assertThat(r.status()).as(cause.getCause().toString()).isEqualTo(503);
      assertThat(r.retryAfterSeconds()).isEqualTo(1);
      assertThat(r.reason()).contains("within 3000 ms; retry with the same idempotency key");
    }
    // answered at once, for now: said as such, not as a timeout
    var r = FeedbackGateway.notWritten(failed(new NotEnoughReplicasException("one of 3")), ACK);
    assertThat(r.status()).isEqualTo(503);
    assertThat(r.retryAfterSeconds()).isEqualTo(1);
    assertThat(r.reason())
        .isEqualTo(
            "the broker could not take the comparison for now (NotEnoughReplicasException);"
                + " retry with the same idempotency key");
  }

  @Test
  void aRefusalTheSameRecordWouldMeetAgainIsA500WithoutRetryAfter() {
    var r = FeedbackGateway.notWritten(failed(new RecordTooLargeException("too large")), ACK);
    assertThat(r.status()).isEqualTo(500);
    assertThat(r.retryAfterSeconds()).isZero();
    assertThat(r.reason())
        .isEqualTo(
            "the broker did not take the comparison (RecordTooLargeException): nothing was"
                + " recorded, and a retry would fail the same way");
  }
}
