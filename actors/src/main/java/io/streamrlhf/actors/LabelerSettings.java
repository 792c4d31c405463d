package io.streamrlhf.actors;

import io.streamrlhf.schemas.transport.KafkaAccess;
import java.time.Duration;

/**
 * How the simulated labelers run ({@link SimulatedLabelers}).
 *
 * @param kafka the Kafka cluster and how to authenticate to it
 * @param groupId their consumer group on {@code rlhf.label-requests}; one group shares the requests
 *     among its members, as people share a queue, and another group's labelers are other people
 *     ({@link SimulatedLabelerPool}'s crew)
 * @param requestsPerSecond at most this many label requests answered per second, on average (a
 *     second's worth may go at once after a pause)
 * @param labelers N labelers sharing the requests
 * @param beta their Gumbel noise scale; null calibrates it, once, on the first {@code
 *     calibrationRequests} requests to TASKS.md's 73% agreement (the first requests come from the
 *     earliest policies, SFT's samples as TASKS.md asks)
 * @param calibrationRequests how many requests the calibration waits for
 * @param overlap share of requests a second labeler ranks too, so agreement can be measured
 * @param seed the labelers' random streams (with each request id)
 * @param kafkaTimeout every single wait on the broker (produce acks, commits)
 */
public record LabelerSettings(
    KafkaAccess kafka,
    String groupId,
    double requestsPerSecond,
    int labelers,
    Double beta,
    int calibrationRequests,
    double overlap,
    long seed,
    Duration kafkaTimeout) {
  public static final String DEFAULT_GROUP = "rlhf-simulated-labelers";
  public static final double DEFAULT_RATE = 2;
  public static final int DEFAULT_LABELERS = 4;
  public static final int DEFAULT_CALIBRATION_REQUESTS = 64;
  public static final double DEFAULT_OVERLAP = 0.1;
  public static final long DEFAULT_SEED = 0x1abe1L;

  /** The most requests a calibration may wait for (they are held, unanswered, meanwhile). */
  public static final int MAX_CALIBRATION_REQUESTS = 10_000;

  public LabelerSettings {
    java.util.Objects.requireNonNull(kafka, "kafka");
    if (!(requestsPerSecond > 0) || Double.isInfinite(requestsPerSecond))
      throw new IllegalArgumentException(
          "the rate must be a positive number of requests per second, got " + requestsPerSecond);
    if (labelers < 1)
      throw new IllegalArgumentException("need at least 1 labeler, got " + labelers);
    if (beta != null && (!(beta >= 0) || beta.isInfinite()))
      throw new IllegalArgumentException("beta must be a finite number >= 0, got " + beta);
    if (calibrationRequests < 1 || calibrationRequests > MAX_CALIBRATION_REQUESTS)
      throw new IllegalArgumentException(
          "calibration needs between 1 and "
              + MAX_CALIBRATION_REQUESTS
              + " requests, got "
              + calibrationRequests);
    if (!(overlap >= 0 && overlap <= 1))
      throw new IllegalArgumentException("overlap must be in [0, 1], got " + overlap);
  }

  /** The defaults above against a plaintext cluster. */
  public static LabelerSettings of(String bootstrapServers) {
    return of(KafkaAccess.plaintext(bootstrapServers));
  }

  /** The defaults above against {@code kafka}: calibrated β, 4 labelers, 2 per s. */
  public static LabelerSettings of(KafkaAccess kafka) {
    return new LabelerSettings(
        kafka,
        DEFAULT_GROUP,
        DEFAULT_RATE,
        DEFAULT_LABELERS,
        null,
        DEFAULT_CALIBRATION_REQUESTS,
        DEFAULT_OVERLAP,
        DEFAULT_SEED,
        Duration.ofSeconds(30));
  }

  public LabelerSettings withRate(double perSecond) {
    return new LabelerSettings(
        kafka,
        groupId,
        perSecond,
        labelers,
        beta,
        calibrationRequests,
        overlap,
        seed,
        kafkaTimeout);
  }

  public LabelerSettings withLabelers(int n) {
    return new LabelerSettings(
        kafka,
        groupId,
        requestsPerSecond,
        n,
        beta,
        calibrationRequests,
        overlap,
        seed,
        kafkaTimeout);
  }

  /** A fixed β (null: calibrate on the first {@code calibrationRequests}). */
  public LabelerSettings withBeta(Double fixed, int calibrationRequests) {
    return new LabelerSettings(
        kafka,
        groupId,
        requestsPerSecond,
        labelers,
        fixed,
        calibrationRequests,
        overlap,
        seed,
        kafkaTimeout);
  }

  public LabelerSettings withOverlap(double share) {
    return new LabelerSettings(
        kafka,
        groupId,
        requestsPerSecond,
        labelers,
        beta,
        calibrationRequests,
        share,
        seed,
        kafkaTimeout);
  }

  public LabelerSettings withSeed(long s) {
    return new LabelerSettings(
        kafka,
        groupId,
        requestsPerSecond,
        labelers,
        beta,
        calibrationRequests,
        overlap,
        s,
        kafkaTimeout);
  }
}
