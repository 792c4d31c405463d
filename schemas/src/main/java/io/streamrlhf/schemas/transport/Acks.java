package io.streamrlhf.schemas.transport;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BiFunction;
import org.apache.kafka.common.KafkaException;

/**
 * Waiting for the broker to acknowledge what a producer sent, before the caller acts as if it were
 * written: commits the offsets the records answer, counts a weight version as published, moves to
 * the next prompt batch. With {@code acks=all} ({@link KafkaClientConfigs#producer}) an
 * acknowledged record is on every in-sync replica.
 */
public final class Acks {
  private Acks() {}

  /**
   * Waits until every send is acknowledged, all of them within one {@code timeout} from now. Flush
   * the producer first when its batches should leave without waiting for {@code linger.ms}.
   *
   * @param sends the futures {@code Producer.send} returned
   * @param what what was sent, named in the error, e.g. {@code "prompt batch 3"}
   * @param failure the caller's exception, made from a message and the cause; thrown when a send
   *     failed, was not acknowledged in time, or the wait was interrupted
   */
  public static void await(
      List<? extends Future<?>> sends,
      Duration timeout,
      String what,
      BiFunction<String, Throwable, ? extends RuntimeException> failure) {
    long deadline = System.nanoTime() + timeout.toNanos();
    for (int i = 0; i < sends.size(); i++) {
      try {
        sends.get(i).get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
      } catch (ExecutionException | TimeoutException | KafkaException e) {
        throw failure.apply(
            what
                + " not acknowledged by the broker within "
                + Durations.readable(timeout)
                + " (record "
                + (i + 1)
                + " of "
                + sends.size()
                + "): "
                + e,
            e);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw failure.apply("interrupted while waiting for the broker to acknowledge " + what, e);
      }
    }
  }
}
