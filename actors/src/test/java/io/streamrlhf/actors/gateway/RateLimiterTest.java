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

  @Test
  void anIdleClientSavesUpNoMoreThanOneBurst() {
    var limiter = new RateLimiter(60);
    assertThat(limiter.acquire("a", 0)).isZero(); // 59 tokens left
    // 59 s later 59 + 59 tokens would be due, but a bucket holds 60 (before the 60 s sweep)
    long t = 59 * SECOND;
    for (int i = 0; i < 60; i++) assertThat(limiter.acquire("a", t)).as("call %d", i).isZero();
    assertThat(limiter.acquire("a", t)).isEqualTo(1);
  }

  @Test
  void theSweepForgetsOnlyFullBucketsSoAnEmptiedOneStaysEmpty() {
    var limiter = new RateLimiter(60);
    limiter.acquire("a", 100 * SECOND); // the sweeps count from here: the first at 160 s
    for (int i = 0; i < 60; i++) assertThat(limiter.acquire("b", 130 * SECOND)).isZero();
    // at 160 s the sweep forgets a (full again) but keeps b, which has refilled only 30 tokens
    long t = 160 * SECOND;
    for (int i = 0; i < 30; i++) assertThat(limiter.acquire("b", t)).as("call %d", i).isZero();
    assertThat(limiter.acquire("b", t)).isEqualTo(1);
  }

  @Test
  void theSweepsCountFromTheFirstCallOnAClockThatStartsBelowZero() {
    var limiter = new RateLimiter(60);
    long t0 = -1_000_000 * SECOND; // System.nanoTime's origin is arbitrary
    limiter.acquire("a", t0); // 59 tokens left: full again 1 s later
    limiter.acquire("b", t0 + 59 * SECOND);
    assertThat(limiter.tracked()).isEqualTo(2); // no sweep before 60 s
    // a sweep: both buckets are full again and forgotten; this call gives "b" a new one
    limiter.acquire("b", t0 + 61 * SECOND);
    assertThat(limiter.tracked()).isEqualTo(1);
  }
}
