package io.streamrlhf.infra.scale;

import io.streamrlhf.schemas.WeightAssembler;

/**
 * How Kafka's weight path and the PPO step scale with the model's parameters p, from one measured
 * point: publish-to-apply ≈ fixed + bytes(p) ÷ path throughput (the bytes go through encode, chunk
 * hashing, the broker, reassembly and the actor's load, each ∝ bytes), and the PPO step ≈ 6 · p ·
 * tokens ÷ the learner's achieved FLOP/s.
 *
 * @param params the measured model's parameters
 * @param snapshotBytes its snapshot on the wire
 * @param publishToApplyS measured publish-to-apply
 * @param fixedS the part of it that does not grow with the bytes (acks and poll round trips)
 * @param ppoStepS measured PPO step
 * @param tokensPerUpdate tokens of one update (rows × (prompt + response))
 * @param learnerFlops the learner's achieved FLOP/s the crossing is asked for; 0: the measured one
 */
public record WeightPath(
    long params,
    long snapshotBytes,
    double publishToApplyS,
    double fixedS,
    double ppoStepS,
    long tokensPerUpdate,
    double learnerFlops) {

  /**
   * bench-small (EXPERIMENTS.md, 2026-11-30): 3,291,905 parameters, a 13,172,196-byte snapshot,
   * publish-to-apply 153 ms of which 34.5 ms is neither encode, publish nor load, PPO step 160.4 ms
   * on 16 × 96 tokens.
   */
  public static WeightPath benchSmall() {
    return new WeightPath(3_291_905, 13_172_196, 0.153, 0.0345, 0.1604, 16 * 96, 0);
  }

  /**
   * This path with the loop's costs as given (--costs, --set): its publish-to-apply and its PPO
   * update as the step; the fixed part keeps its share of publish-to-apply.
   */
  public WeightPath withCosts(LoopCosts costs) {
    return new WeightPath(
        params,
        snapshotBytes,
        costs.publishToApplyS(),
        fixedS * costs.publishToApplyS() / publishToApplyS,
        costs.learnerUpdateS(),
        tokensPerUpdate,
        learnerFlops);
  }

  public WeightPath withLearnerFlops(double flops) {
    return new WeightPath(
        params, snapshotBytes, publishToApplyS, fixedS, ppoStepS, tokensPerUpdate, flops);
  }

  /** The learner's FLOP/s the measured PPO step achieved. */
  public double measuredFlops() {
    return 6.0 * params * tokensPerUpdate / ppoStepS;
  }

  public double flops() {
    return learnerFlops > 0 ? learnerFlops : measuredFlops();
  }

  public double bytesPerParam() {
    return snapshotBytes / (double) params;
  }

  /** Bytes per second through the whole weight path (encode to load). */
  public double pathBytesPerS() {
    return snapshotBytes / (publishToApplyS - fixedS);
  }

  public double publishToApplyS(double p) {
    return fixedS + p * bytesPerParam() / pathBytesPerS();
  }

  public double ppoStepS(double p) {
    return 6.0 * p * tokensPerUpdate / flops();
  }

  /**
   * The parameters above which publish-to-apply exceeds a PPO step, below which it does, or the
   * other way round; NaN when one stays above the other at every size (see {@link #limitRatio}).
   */
  public double crossingParams() {
    double perParamStep = 6.0 * tokensPerUpdate / flops();
    double perParamPublish = bytesPerParam() / pathBytesPerS();
    if (perParamStep == perParamPublish) return Double.NaN;
    double p = fixedS / (perParamStep - perParamPublish);
    return p > 0 ? p : Double.NaN;
  }

  /** publish-to-apply ÷ PPO step for a very large model: both are ∝ p, the fixed part fades. */
  public double limitRatio() {
    return (bytesPerParam() / pathBytesPerS()) / (6.0 * tokensPerUpdate / flops());
  }

  /** The learner speed at which apply/step tends to 1 for large models. */
  public double flopsAtParity() {
    return 6.0 * tokensPerUpdate * pathBytesPerS() / bytesPerParam();
  }

  /**
   * The largest model one snapshot can carry at all: {@link WeightAssembler} reassembles a version
   * into one Java array ({@link WeightAssembler#MAX_SNAPSHOT_BYTES}).
   */
  public double assemblerLimitParams() {
    return WeightAssembler.MAX_SNAPSHOT_BYTES / bytesPerParam();
  }
}
