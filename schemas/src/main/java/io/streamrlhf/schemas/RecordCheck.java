package io.streamrlhf.schemas;

import java.util.Optional;

/**
 * Whether a record that decoded can be used: the one-line reason it cannot, or empty. A consumer
 * checks every record before use ({@code schemas.transport.DecodingConsumer}), so a record that
 * parses but would make its reader throw or compute garbage (an empty response, a token the model
 * has no embedding for, a NaN log-prob) goes to the dead-letter topic instead of into the loop.
 *
 * <p>The structural checks every reader of a record type shares are in {@link RecordChecks}; a
 * reader adds what only it knows (the learner its model's vocabulary and context) with {@link
 * #and}.
 */
@FunctionalInterface
public interface RecordCheck<T> {
  /** Why {@code record} cannot be used, or empty when it can. */
  Optional<String> problem(T record);

  /** This check, then {@code next} on records this one passes. */
  default RecordCheck<T> and(RecordCheck<? super T> next) {
    return record -> {
      var first = problem(record);
      return first.isPresent() ? first : next.problem(record);
    };
  }
}
