package io.streamrlhf.schemas.transport;

import io.streamrlhf.schemas.DeadLetter;

/** The outcome of decoding one consumed record: the value, or a dead letter that replaces it. */
public sealed interface Decoded<T> {
  String topic();

  int partition();

  long offset();

  /** A decoded value and where it was read (the learner keeps offsets in its checkpoint). */
  record Value<T>(T value, String topic, int partition, long offset, long timestamp)
      implements Decoded<T> {}

  /** A record that did not decode, kept byte for byte for the dead-letter topic. */
  record Dead<T>(DeadLetter letter) implements Decoded<T> {
    @Override
    public String topic() {
      return letter.getTopic();
    }

    @Override
    public int partition() {
      return letter.getPartition();
    }

    @Override
    public long offset() {
      return letter.getOffset();
    }
  }
}
