package io.streamrlhf.actors.gateway;

import java.util.HashMap;
import java.util.Map;

/**
 * A token bucket per client address: {@code perMinute} requests a minute on average, in bursts of
 * at most {@code perMinute}. Buckets that have refilled completely are forgotten, so an address
 * that stops calling costs nothing.
 *
 * <p>Not thread-safe: the gateway verticle alone calls it, on its event loop.
 */
final class RateLimiter {
  private final double capacity;
  private final double perNano;
  private final Map<String, Bucket> buckets = new HashMap<>();
  private long lastSweep;
  private boolean started;

  private static final class Bucket {
    double tokens;
    long at;
  }

  RateLimiter(int perMinute) {
    if (perMinute < 1) throw new IllegalArgumentException("rate limit must be >= 1 per minute");
    this.capacity = perMinute;
    this.perNano = perMinute / 60e9;
  }

  /**
   * Takes one token for {@code client}.
   *
   * @return 0 when allowed, else the seconds until a token is available (for Retry-After)
   */
  long acquire(String client, long nowNanos) {
    sweep(nowNanos);
    var b =
        buckets.computeIfAbsent(
            client,
            c -> {
              var fresh = new Bucket();
              fresh.tokens = capacity;
              fresh.at = nowNanos;
              return fresh;
            });
    b.tokens = Math.min(capacity, b.tokens + (nowNanos - b.at) * perNano);
    b.at = nowNanos;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return Math.max(1, (long) Math.ceil((1 - b.tokens) / perNano / 1e9));
  }

  /** Clients the limiter holds a bucket for. */
  int tracked() {
    return buckets.size();
  }

  private void sweep(long nowNanos) {
    // the clock's origin is arbitrary (System.nanoTime may be negative): the sweeps count from
    // the first call, not from 0
    if (!started) {
      started = true;
      lastSweep = nowNanos;
    }
    if (nowNanos - lastSweep < 60e9) return;
    lastSweep = nowNanos;
    buckets.values().removeIf(b -> b.tokens + (nowNanos - b.at) * perNano >= capacity);
  }
}
