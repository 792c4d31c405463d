package io.streamrlhf.schemas.transport;

import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.AuthorizationException;

/**
 * A login or a permission the Kafka cluster refused, found anywhere in a failure's causes: a
 * refused read comes straight from {@code poll}, a refused write wrapped in the send's future and
 * whatever waited on it. No retry mends one (none of their subclasses is retriable; a broker whose
 * authorizer is not ready yet says so with a retriable exception of its own), so a reader or writer
 * that meets one stops and says why rather than retrying.
 */
public final class KafkaRefusal {
  private KafkaRefusal() {}

  /** The refusal {@code failure} comes from, or null when it comes from none. */
  public static KafkaException in(Throwable failure) {
    for (Throwable t = failure; t != null; t = t.getCause())
      if (t instanceof AuthenticationException || t instanceof AuthorizationException)
        return (KafkaException) t;
    return null;
  }
}
