package io.streamrlhf.schemas.transport;

import java.time.Duration;

/** Waits as messages name them to users: "5 s" or "2500 ms", never ISO-8601's "PT5S". */
public final class Durations {
  private Durations() {}

  public static String readable(Duration wait) {
    // whole seconds without toMillis, which overflows past 292 million years
    if (wait.getNano() == 0) return wait.getSeconds() + " s";
    return wait.toMillis() % 1000 == 0 ? wait.toSeconds() + " s" : wait.toMillis() + " ms";
  }
}
