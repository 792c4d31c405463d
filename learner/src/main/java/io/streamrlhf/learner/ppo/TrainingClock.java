package io.streamrlhf.learner.ppo;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The wall time a PPO run has trained, the {@code seconds} of its gold-vs-proxy curve: it starts
 * when the learner starts its first update (after the SFT policy's evaluation and, on Kafka, the
 * first publish) and a resumed run continues from the seconds its checkpoint holds under {@value
 * #KEY}, so the time a run spent dead or loading is not counted. A checkpoint written before the
 * clock existed resumes it at 0.
 */
public final class TrainingClock {
  /** The checkpoint's train-state extra holding the seconds trained when it was written. */
  public static final String KEY = "training_seconds";

  private final double before;
  private final long origin;

  private TrainingClock(double before) {
    this.before = before;
    this.origin = System.nanoTime();
  }

  /** A clock that reads {@code seconds} now. */
  static TrainingClock startAt(double seconds) {
    return new TrainingClock(seconds);
  }

  /** The seconds a checkpoint's extras hold, or 0 for a checkpoint without them. */
  static double saved(JsonNode extra) {
    var node = extra == null ? null : extra.get(KEY);
    return node == null ? 0 : node.asDouble();
  }

  double seconds() {
    return before + (System.nanoTime() - origin) / 1e9;
  }
}
