package io.streamrlhf.actors.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class RateLimiterTest {
  private static final long SECOND = 1_000_000_000L;

  @Test
  void allowsABurstOfPerMinuteThenRefillsAtThatRatePerClient() {
    var limiter = new RateLimiter(60);
    long t = 5 * SECOND;
    for (int i = 0; i < 60; i++) assertThat(limiter.acquire("a", t)).isZero();
    assertThat(limiter.acquire("a", t)).isEqualTo(1); // one token a second
    assertThat(limiter.acquire("b", t)).isZero(); // another client has its own bucket
    assertThat(limiter.acquire("a", t + SECOND)).isZero();
    assertThat(limiter.acquire("a", t + SECOND)).isPositive();
  }
}
