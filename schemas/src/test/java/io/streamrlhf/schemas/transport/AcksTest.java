package io.streamrlhf.schemas.transport;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.junit.jupiter.api.Test;

class AcksTest {
  private static final Duration TIMEOUT = Duration.ofMillis(200);

  @Test
  void acknowledgedSendsReturn() {
    var sends =
        List.of(CompletableFuture.completedFuture("a"), CompletableFuture.completedFuture("b"));

    assertThatCode(() -> Acks.await(sends, TIMEOUT, "two records", IllegalStateException::new))
        .doesNotThrowAnyException();
  }

  @Test
  void aFailedSendThrowsTheCallersExceptionNamingWhatAndWhichRecord() {
    var sends =
        List.of(
            CompletableFuture.completedFuture("a"),
            CompletableFuture.failedFuture(new RecordTooLargeException("too large")));

    assertThatThrownBy(
            () -> Acks.await(sends, TIMEOUT, "prompt batch 3", IllegalArgumentException::new))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("prompt batch 3 not acknowledged by the broker within 200 ms")
        .hasMessageContaining("record 2 of 2")
        .hasMessageContaining("too large")
        .hasCauseInstanceOf(ExecutionException.class);
  }

  @Test
  void aSendNeverAcknowledgedTimesOut() {
    var sends = List.of(new CompletableFuture<String>());

    assertThatThrownBy(() -> Acks.await(sends, TIMEOUT, "dead letters", IllegalStateException::new))
        .hasMessageContaining("dead letters not acknowledged by the broker within 200 ms")
        .hasCauseInstanceOf(TimeoutException.class);
  }
}
