package io.streamrlhf.learner.config;

import static io.streamrlhf.learner.config.StageConfig.require;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The reward trainer: the reward model keeps learning from the live comparisons stream while PPO
 * runs (issue 19). Each optimizer step trains on {@code comparisons_per_step} fresh comparisons
 * mixed with a replay of earlier ones, all C(K,2) pairs of every ranking in the one batch
 * (InstructGPT §3.5), and every {@code publish_every_steps} steps the model is checkpointed and
 * published as a new reward-model version.
 *
 * @param comparisonsPerStep fresh training comparisons per optimizer step (a step waits for them,
 *     up to {@code fresh_wait_seconds})
 * @param catchUpFactor a trainer behind its labelers takes every fresh comparison already waiting
 *     into one step, up to this many times {@code comparisons_per_step}: it catches up in larger
 *     batches, and so fewer steps and versions, rather than falling further behind and ending with
 *     rankings it never trained on (1: fixed steps)
 * @param replayRatio replayed comparisons per fresh one in a step, drawn uniformly from the replay
 *     buffer: fresh labels move the model, the replay keeps it from forgetting what earlier ones
 *     taught (0: fresh only)
 * @param replayBufferSize comparisons the replay buffer holds: a uniform sample of every training
 *     comparison seen (reservoir sampling), saved in every checkpoint
 * @param heldOutShare share of comparisons kept out of training to measure accuracy on, chosen by a
 *     hash of the label request they answer (of the comparison id when none), so every labeler's
 *     ranking of one request falls on the same side
 * @param heldOutSize the newest held-out comparisons kept for the accuracy and agreement figures
 * @param publishEverySteps optimizer steps between checkpoints, each published as a new version
 * @param freshWaitSeconds a step with fewer than {@code comparisons_per_step} fresh comparisons is
 *     taken once the oldest of them waited this long: a trickle of human labels still reaches the
 *     actors
 * @param likelihoodTerm fit the weight w of the score head + w·log π_SFT(y|x) on the replay buffer
 *     (the head held fixed, as the offline reward stage does) before every version is published;
 *     false keeps the w the trainer started with (0 on a cold start, the offline model's with --rm)
 * @param likelihoodFitMinComparisons the buffer size from which w is fitted: a fit on a handful of
 *     rankings is noise
 * @param statisticsSamples SFT samples (one per training prompt, temperature 1) drawn once at start
 *     on which every version's score mean and std are measured: what PPO normalises rewards with
 * @param decaySteps after warm-up the learning rate follows a cosine from {@code learning_rate} to
 *     {@code min_learning_rate} over this many steps and then stays there: an online trainer never
 *     ends, so it keeps learning at the floor (equal to the peak by default: a constant rate)
 */
public record OnlineRewardConfig(
    long seed,
    int comparisonsPerStep,
    int catchUpFactor,
    double replayRatio,
    int replayBufferSize,
    double heldOutShare,
    int heldOutSize,
    int publishEverySteps,
    double freshWaitSeconds,
    boolean likelihoodTerm,
    int likelihoodFitMinComparisons,
    int statisticsSamples,
    OptimizerConfig optimizer,
    int decaySteps,
    int logEverySteps)
    implements StageConfig {

  /** A step's batch, fresh and replayed comparisons, is one forward pass: this many at most. */
  public static final int MAX_COMPARISONS_PER_STEP = 65_536;

  public OnlineRewardConfig {
    require(comparisonsPerStep > 0, "comparisons_per_step", "> 0", comparisonsPerStep);
    require(catchUpFactor >= 1, "catch_up_factor", ">= 1", catchUpFactor);
    require(replayRatio >= 0, "replay_ratio", ">= 0", replayRatio);
    if ((double) comparisonsPerStep * catchUpFactor * (1 + replayRatio)
        > MAX_COMPARISONS_PER_STEP) {
      throw new IllegalArgumentException(
          "comparisons_per_step ("
              + comparisonsPerStep
              + ") x catch_up_factor ("
              + catchUpFactor
              + ") x (1 + replay_ratio ("
              + replayRatio
              + ")) makes a step of more than "
              + MAX_COMPARISONS_PER_STEP
              + " comparisons: lower one of them");
    }
    require(replayBufferSize >= 0, "replay_buffer_size", ">= 0", replayBufferSize);
    require(heldOutShare >= 0 && heldOutShare < 1, "held_out_share", "in [0, 1)", heldOutShare);
    require(heldOutSize > 0, "held_out_size", "> 0", heldOutSize);
    require(publishEverySteps > 0, "publish_every_steps", "> 0", publishEverySteps);
    require(freshWaitSeconds >= 0, "fresh_wait_seconds", ">= 0", freshWaitSeconds);
    require(
        likelihoodFitMinComparisons > 0,
        "likelihood_fit_min_comparisons",
        "> 0",
        likelihoodFitMinComparisons);
    require(statisticsSamples > 1, "statistics_samples", "> 1", statisticsSamples);
    require(optimizer != null, "optimizer", "given", optimizer);
    require(decaySteps >= 0, "decay_steps", ">= 0", decaySteps);
    require(logEverySteps > 0, "log_every_steps", "> 0", logEverySteps);
  }

  public static OnlineRewardConfig defaults() {
    return new OnlineRewardConfig(
        6, // seed
        // 8 fresh + 8 replayed rankings: the offline stage's 16 sets a batch
        8, // comparisons_per_step
        // behind: up to 4 steps' worth in one, each version's cost (about five steps') spread
        // over 4 x the rankings
        4, // catch_up_factor
        1.0, // replay_ratio
        2000, // replay_buffer_size
        0.1, // held_out_share
        400, // held_out_size: about 2,400 pairs at K = 4, accuracy to about ±0.01
        // a version every 40 fresh comparisons: seconds behind the labelers at the demo's rates
        5, // publish_every_steps
        5.0, // fresh_wait_seconds
        true, // likelihood_term: the offline stage's default score
        64, // likelihood_fit_min_comparisons
        256, // statistics_samples
        // the offline stage's peak rate, held: new labels keep arriving
        OptimizerConfig.of(3e-4, 3e-4, 10, 0.0), // optimizer
        1000, // decay_steps
        10); // log_every_steps
  }

  /** The fresh comparisons a step of a trainer behind its labelers takes at most. */
  public int maxFreshPerStep() {
    return comparisonsPerStep * catchUpFactor;
  }

  /** Replayed comparisons in a step with {@code fresh} fresh ones. */
  public int replayedWith(int fresh) {
    return (int) Math.round(replayRatio * fresh);
  }

  /** It trains as long as rankings arrive. */
  @Override
  public Optional<Length> length() {
    return Optional.empty();
  }

  @Override
  public String stageName() {
    return "reward-trainer";
  }

  /**
   * held_out_share decides by hash which side each ranked request falls on, and a request's
   * rankings arrive one labeler at a time: a new share would move requests the model trained on
   * into the held-out figures.
   */
  @Override
  public List<String> keptOnResume() {
    return List.of("held_out_share");
  }

  @Override
  public Map<String, Object> derivedSizes() {
    var sizes = new LinkedHashMap<String, Object>();
    sizes.put("comparisons_per_batch", comparisonsPerStep + replayedWith(comparisonsPerStep));
    sizes.put(
        "pairs_per_batch_at_k4", 6L * (comparisonsPerStep + replayedWith(comparisonsPerStep)));
    sizes.put("comparisons_per_batch_behind", maxFreshPerStep() + replayedWith(maxFreshPerStep()));
    sizes.put(
        "comparisons_per_version",
        Math.round(comparisonsPerStep * publishEverySteps / (1 - heldOutShare)));
    return sizes;
  }
}
