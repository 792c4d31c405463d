package io.streamrlhf.infra.chaos;

import java.nio.file.Path;
import java.time.Duration;

/**
 * What a chaos run may vary: the seed of its random fault points and of the loop, the length of the
 * long faults (so a test can use less), the share of poison, and the bounds every wait keeps.
 *
 * @param seed seeds the loop (config seed) and the random points faults are injected at
 * @param outage how long the broker stays down in {@code broker-outage}
 * @param soak how long {@code soak} runs the loop
 * @param sampleEvery the soak's RSS sampling period
 * @param poisonRate the share of invalid-but-decodable records, and again of undecodable ones, the
 *     poison producer adds to every consumed topic (at least one of each per topic)
 * @param maxRssSlopeMbPerHour the soak fails when a process's resident set grows faster than this
 * @param recoveryBound {@code actor-kill} fails when the loop takes longer than this to make
 *     progress again after the kill
 * @param childHeap -Xmx of every child JVM
 * @param bound the longest any one scenario may take before it is failed and its processes killed
 * @param sft an SFT checkpoint to use instead of the tiny one chaos writes (null: tiny)
 * @param rm a reward-model checkpoint to go with {@code sft} (null: tiny)
 */
public record ChaosSettings(
    long seed,
    Duration outage,
    Duration soak,
    Duration sampleEvery,
    double poisonRate,
    double maxRssSlopeMbPerHour,
    Duration recoveryBound,
    String childHeap,
    Duration bound,
    Path sft,
    Path rm) {

  public static ChaosSettings defaults() {
    return new ChaosSettings(
        7,
        Duration.ofSeconds(60),
        Duration.ofMinutes(30),
        Duration.ofSeconds(10),
        0.01,
        20,
        Duration.ofSeconds(20),
        "768m",
        Duration.ofMinutes(20),
        null,
        null);
  }

  public ChaosSettings withOutage(Duration d) {
    return new ChaosSettings(
        seed,
        d,
        soak,
        sampleEvery,
        poisonRate,
        maxRssSlopeMbPerHour,
        recoveryBound,
        childHeap,
        bound,
        sft,
        rm);
  }

  public ChaosSettings withSoak(Duration d, Duration every) {
    return new ChaosSettings(
        seed,
        outage,
        d,
        every,
        poisonRate,
        maxRssSlopeMbPerHour,
        recoveryBound,
        childHeap,
        bound,
        sft,
        rm);
  }

  public ChaosSettings withPoisonRate(double rate) {
    return new ChaosSettings(
        seed,
        outage,
        soak,
        sampleEvery,
        rate,
        maxRssSlopeMbPerHour,
        recoveryBound,
        childHeap,
        bound,
        sft,
        rm);
  }

  public ChaosSettings withBound(Duration d) {
    return new ChaosSettings(
        seed,
        outage,
        soak,
        sampleEvery,
        poisonRate,
        maxRssSlopeMbPerHour,
        recoveryBound,
        childHeap,
        d,
        sft,
        rm);
  }
}
