package io.streamrlhf.learner.stream;

import java.security.SecureRandom;

/** The ids a new learner or reward-trainer run gives itself. */
final class RunIds {
  private static final SecureRandom RANDOM = new SecureRandom();

  private RunIds() {}

  /**
   * {@code prefix}, the time in hexadecimal milliseconds, and random bits for two runs started in
   * the same millisecond: no ':' (prompt ids are {@code <run>:<batch>:<index>}).
   */
  static String next(String prefix) {
    return prefix
        + Long.toHexString(System.currentTimeMillis())
        + "-"
        + Integer.toHexString(RANDOM.nextInt(1 << 16));
  }
}
