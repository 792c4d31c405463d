package io.streamrlhf.learner.ppo;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.streamrlhf.learner.config.PpoConfig;
import io.streamrlhf.learner.pretrain.CorpusWindows;
import io.streamrlhf.learner.pretrain.Pretraining;
import io.streamrlhf.model.AdamW;
import io.streamrlhf.model.ComputeDevice;
import io.streamrlhf.model.Gpt;
import io.streamrlhf.model.Gradients;
import io.streamrlhf.model.ScoringBatch;
import io.streamrlhf.model.WeightSnapshot;
import io.streamrlhf.tasks.SplitMix64;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The update side of PPO: takes a {@link RolloutBatch} and improves the policy on it, calling the
 * math of {@link Ppo} in the order it is written there. Owns the policy's weights, the optimizer
 * and the KL controller; never samples, so the streaming learner can feed it rollouts from Kafka.
 *
 * <ol>
 *   <li>{@link #prepare}: one no-gradient pass of the current policy gives the proximal log-probs
 *       and the values V(s_t) (the scalar head shares the trunk); then per-token rewards with the
 *       normalised RM score, reshaped by the reference log-likelihood, GAE, and whitening across
 *       the batch;
 *   <li>{@link #update}: epochs of shuffled minibatches packed to {@code tokens_per_minibatch},
 *       each scored with gradient and trained on {@link #minibatchLoss} (decoupled clipped
 *       surrogate + c_V·clipped value loss − c_H·entropy + γ_ptx·pretraining NLL), global-norm
 *       clipping, AdamW (the value head at its own rate; during the critic warm-up only the value
 *       head moves); then the KL controller's update of β.
 * </ol>
 */
public final class PpoLearner implements AutoCloseable {
  /** Tokens per PPO-ptx corpus window. */
  public static final int PTX_WINDOW_TOKENS = 64;

  private final Gpt policy;
  private final PpoConfig config;
  private final RewardSource.Normalisation reward;
  private CorpusWindows ptxWindows;
  private final AdamW optimizer;
  private SplitMix64 rng;
  private Ppo.KlController klController;
  private long updates;

  /**
   * @param policy the model to train (policy logits and value head on one trunk)
   * @param reward the raw reward's mean and standard deviation on SFT samples (from the RM
   *     checkpoint), and the weight of the RM's likelihood term for the reference shaping
   */
  public PpoLearner(Gpt policy, PpoConfig config, RewardSource.Normalisation reward) {
    this.policy = policy;
    this.config = config;
    this.reward = reward;
    this.ptxWindows =
        config.ptxCoef() > 0 ? new CorpusWindows(config.seed(), PTX_WINDOW_TOKENS) : null;
    this.rng = new SplitMix64(config.seed() ^ 0x5eedL);
    this.klController = klController(config, config.initKlCoef());
    policy.requireGradients();
    this.optimizer = new AdamW(policy, config.optimizer().adam());
  }

  /**
   * The KL-penalty controller {@code config} asks for, at β = {@code beta}: fixed, or adaptive to
   * target_kl.
   */
  public static Ppo.KlController klController(PpoConfig config, double beta) {
    return config.adaptiveKl()
        ? new Ppo.AdaptiveKl(beta, config.targetKl(), config.klHorizon())
        : new Ppo.FixedKl(beta);
  }

  /** β of the KL penalty the next batch will use. */
  public double beta() {
    return klController.beta();
  }

  /** AdamW's moments, for the checkpoint. */
  public Iterable<WeightSnapshot> optimizerState() {
    return optimizer.state();
  }

  /** Updates done so far: the policy version the weights now are. */
  public long updates() {
    return updates;
  }

  /**
   * What the learner must save beside the weights and the optimizer's moments so that a resumed run
   * takes the very steps an uninterrupted one would.
   *
   * @param updates PPO updates done
   * @param klCoef β of the KL controller for the next batch
   * @param shuffleRng the minibatch-shuffling stream
   * @param ptxPosition the next PPO-ptx corpus window
   */
  public record ResumeState(
      long updates, double klCoef, SplitMix64.RngState shuffleRng, long ptxPosition) {}

  public ResumeState resumeState() {
    return new ResumeState(
        updates, klController.beta(), rng.state(), ptxWindows == null ? 0 : ptxWindows.position());
  }

  /** Continues from {@code state} with the optimizer's saved moments. */
  public void restore(ResumeState state, Iterable<WeightSnapshot> optimizerState) {
    optimizer.restore(optimizerState);
    updates = state.updates();
    klController = klController(config, state.klCoef());
    rng = SplitMix64.restore(state.shuffleRng());
    if (ptxWindows != null)
      ptxWindows = CorpusWindows.at(config.seed(), PTX_WINDOW_TOKENS, state.ptxPosition());
  }

  // ---------------------------------------------------------------------------------------------
  // Per batch: proximal log-probs, values, rewards, advantages
  // ---------------------------------------------------------------------------------------------

  /**
   * A batch ready for the minibatch epochs: per rollout (index b), arrays over its response tokens.
   *
   * @param proximalLogProbs log π_prox under the weights before this update
   * @param values V(s_t) of the same weights, the value-clipping anchor
   * @param advantages whitened GAE advantages
   * @param returns GAE returns, the value head's targets
   * @param normalisedScores the RM score standardised by the RM's SFT statistics
   * @param kl per-response KL(π_behav ‖ π_SFT) estimate
   * @param beta the β the rewards were built with
   */
  public record PreparedBatch(
      List<Rollout> rollouts,
      List<float[]> proximalLogProbs,
      List<float[]> values,
      List<float[]> advantages,
      List<float[]> returns,
      double[] normalisedScores,
      double[] kl,
      double beta) {}

  public PreparedBatch prepare(RolloutBatch batch) {
    var rollouts = batch.rollouts();
    var proximal = new ArrayList<float[]>(rollouts.size());
    var values = new ArrayList<float[]>(rollouts.size());
    Gpt.withoutGradient(
        () -> {
          try (NDManager scope = ComputeDevice.scope()) {
            var scoring = scoringBatch(scope, rollouts);
            var scores = policy.score(scoring, (float) config.samplingTemperature());
            split(scores.logProbs().toFloatArray(), rollouts, scoring.responseWidth(), proximal);
            split(scores.values().toFloatArray(), rollouts, scoring.responseWidth(), values);
            return null;
          }
        });
    double beta = klController.beta();
    var scores = new double[rollouts.size()];
    var kl = new double[rollouts.size()];
    var advantages = new ArrayList<float[]>(rollouts.size());
    var returns = new ArrayList<float[]>(rollouts.size());
    for (int b = 0; b < rollouts.size(); b++) {
      var rollout = rollouts.get(b);
      // each rollout in the units of the reward-model version that scored it, where it says
      var reward = rollout.normalisation() != null ? rollout.normalisation() : this.reward;
      scores[b] = Ppo.normalisedScore(rollout.rmScore(), reward.mean(), reward.std());
      kl[b] = Ppo.responseKl(rollout.behaviourLogProbs(), rollout.refLogProbs());
      var rewards =
          Ppo.shapedTokenRewards(
              rollout.behaviourLogProbs(),
              rollout.refLogProbs(),
              scores[b],
              beta,
              config.referenceShaping() * reward.likelihoodWeight() / reward.std());
      var gae = Ppo.gae(rewards, values.get(b), config.gamma(), config.gaeLambda());
      advantages.add(gae.advantages());
      returns.add(gae.returns());
    }
    return new PreparedBatch(
        rollouts, proximal, values, Ppo.whiten(advantages), returns, scores, kl, beta);
  }

  // ---------------------------------------------------------------------------------------------
  // Per minibatch: the loss
  // ---------------------------------------------------------------------------------------------

  /** The minibatch loss and its parts (scalars in the scope passed in), for logging and tests. */
  public record MinibatchLoss(
      NDArray total, Ppo.PolicyLoss policy, NDArray value, NDArray entropy, NDArray pretraining) {}

  /**
   * The PPO loss of rollouts {@code rows} of {@code prepared} under the current weights; records
   * the autograd graph when called inside a GradientCollector.
   *
   * @param ptxWindows corpus windows for PPO-ptx, or null when γ_ptx = 0
   */
  public MinibatchLoss minibatchLoss(
      NDManager scope, PreparedBatch prepared, int[] rows, List<int[]> ptxWindows) {
    var rollouts = new ArrayList<Rollout>(rows.length);
    var proximal = new ArrayList<float[]>(rows.length);
    var behaviour = new ArrayList<float[]>(rows.length);
    var oldValues = new ArrayList<float[]>(rows.length);
    var advantages = new ArrayList<float[]>(rows.length);
    var returns = new ArrayList<float[]>(rows.length);
    for (int row : rows) {
      rollouts.add(prepared.rollouts().get(row));
      proximal.add(prepared.proximalLogProbs().get(row));
      behaviour.add(prepared.rollouts().get(row).behaviourLogProbs());
      oldValues.add(prepared.values().get(row));
      advantages.add(prepared.advantages().get(row));
      returns.add(prepared.returns().get(row));
    }
    var batch = scoringBatch(scope, rollouts);
    int width = batch.responseWidth();
    var scores = policy.score(batch, (float) config.samplingTemperature());
    var mask = scores.mask();
    var policyLoss =
        Ppo.decoupledPolicyLoss(
            scores.logProbs(),
            Ppo.padded(scope, proximal, width),
            Ppo.padded(scope, behaviour, width),
            Ppo.padded(scope, advantages, width),
            mask,
            freshTokens(scope, rollouts, width),
            config.clipRatio(),
            config.importanceWeightCap());
    var valueLoss =
        Ppo.valueLoss(
            scores.values(),
            Ppo.padded(scope, oldValues, width),
            Ppo.padded(scope, returns, width),
            mask,
            config.valueClipRange());
    var entropy = Ppo.maskedMean(scores.entropy(), mask);
    var loss =
        Ppo.ppoLoss(
            policyLoss.loss(), valueLoss, entropy, config.valueLossCoef(), config.entropyCoef());
    NDArray ptxLoss = null;
    if (ptxWindows != null) {
      ptxLoss = Pretraining.nextTokenLoss(policy, scope, ptxWindows);
      loss = Ppo.withPretrainingLoss(loss, ptxLoss, config.ptxCoef());
    }
    return new MinibatchLoss(loss, policyLoss, valueLoss, entropy, ptxLoss);
  }

  /**
   * The per-token staleness mask of {@link Ppo#freshTokens}, or null when every token is within
   * max_lag (then the loss is decoupled PPO exactly, not merely equal up to rounding).
   */
  private NDArray freshTokens(NDManager scope, List<Rollout> rollouts, int width) {
    var fresh = new ArrayList<float[]>(rollouts.size());
    long stale = 0;
    long tokens = 0;
    for (var rollout : rollouts) {
      var row = Ppo.freshTokens(rollout.tokenVersions(), updates, config.maxLag());
      for (float f : row) stale += f == 0 ? 1 : 0;
      tokens += row.length;
      fresh.add(row);
    }
    if (stale == 0) return null;
    if (stale == tokens)
      throw new IllegalStateException(
          "every token of a minibatch is older than max_lag "
              + config.maxLag()
              + " at v"
              + updates
              + ": the rollout-level staleness check should have dropped them");
    return Ppo.padded(scope, fresh, width);
  }

  // ---------------------------------------------------------------------------------------------
  // Per batch: the epochs
  // ---------------------------------------------------------------------------------------------

  /** What one update did, averaged over its minibatches (scores and KL over its rollouts). */
  public record UpdateStats(
      long update,
      int rollouts,
      double meanRmScore,
      double meanNormalisedScore,
      double meanKl,
      double beta,
      double policyLoss,
      double valueLoss,
      double entropy,
      double pretrainingLoss,
      double clipFraction,
      double approxKl,
      double meanImportanceWeight,
      double gradNorm,
      double learningRate,
      int minibatches,
      int skippedMinibatches,
      double meanResponseTokens) {}

  /** One PPO update on {@code batch} at learning rate {@code learningRate}. */
  public UpdateStats update(RolloutBatch batch, double learningRate) {
    var prepared = prepare(batch);
    int n = batch.size();
    double policySum = 0,
        valueSum = 0,
        entropySum = 0,
        ptxSum = 0,
        clipSum = 0,
        approxKlSum = 0,
        weightSum = 0,
        normSum = 0;
    int minibatches = 0;
    int skipped = 0;
    // The value head is a fresh linear read-out of the policy's trunk (zeroed at the start of PPO),
    // so it takes its own, larger step size: at the trunk's rate it needs thousands of steps to
    // learn even the per-family mean score, and until then the advantages carry every prompt's
    // difficulty as noise. For the first value_warmup_updates batches only the head moves (trunk
    // rate 0: the policy is still SFT), so PPO starts with a baseline (a critic warm-up).
    boolean criticWarmUp = updates < config.valueWarmupUpdates();
    double trunkRate = criticWarmUp ? 0 : learningRate;
    double valueHeadRate = config.valueHeadLearningRate();
    for (int epoch = 0; epoch < config.epochsPerBatch(); epoch++) {
      for (int[] rows : minibatches(prepared.rollouts())) {
        policy.zeroGradients();
        var ptx = ptxWindows == null ? null : nextPtxWindows();
        double policyLoss, valueLoss, entropy, ptxLoss, clip, approxKl, weight;
        try (NDManager scope = ComputeDevice.scope();
            var collector = Gradients.collector()) {
          var loss = minibatchLoss(scope, prepared, rows, ptx);
          collector.backward(loss.total());
          policyLoss = loss.policy().loss().getFloat();
          valueLoss = loss.value().getFloat();
          entropy = loss.entropy().getFloat();
          ptxLoss = loss.pretraining() == null ? 0 : loss.pretraining().getFloat();
          clip = loss.policy().clipFraction();
          approxKl = loss.policy().approxKl();
          weight = loss.policy().meanImportanceWeight();
        }
        try {
          normSum +=
              optimizer.step(name -> name.startsWith(Gpt.SCALAR_HEAD) ? valueHeadRate : trunkRate);
        } catch (ArithmeticException nonFinite) {
          // A non-finite gradient (seen once in a demo run, never reproduced; most likely the
          // use-after-free that Scalars now avoids) leaves the weights untouched; skip this
          // minibatch, as loss scalers skip a step, rather than lose the run. Counted, and
          // reported in the update's log line.
          skipped++;
          continue;
        }
        policySum += policyLoss;
        valueSum += valueLoss;
        entropySum += entropy;
        ptxSum += ptxLoss;
        clipSum += clip;
        approxKlSum += approxKl;
        weightSum += weight;
        minibatches++;
      }
    }
    int taken = Math.max(minibatches, 1); // every minibatch skipped: the means below read 0
    double meanKl = Arrays.stream(prepared.kl()).average().orElse(0);
    if (!criticWarmUp) {
      // Not during the critic warm-up: the policy cannot move then, so its KL of ~0 says nothing
      // about β, and the adaptive controller would only decay it.
      klController = klController.update(meanKl, n);
    }
    updates++;
    double tokens =
        batch.rollouts().stream().mapToInt(r -> r.response().length).average().orElse(0);
    return new UpdateStats(
        updates,
        n,
        batch.rollouts().stream().mapToDouble(Rollout::rmScore).average().orElse(0),
        Arrays.stream(prepared.normalisedScores()).average().orElse(0),
        meanKl,
        prepared.beta(),
        policySum / taken,
        valueSum / taken,
        entropySum / taken,
        ptxSum / taken,
        clipSum / taken,
        approxKlSum / taken,
        weightSum / taken,
        normSum / taken,
        learningRate,
        minibatches,
        skipped,
        tokens);
  }

  /**
   * The batch's rollouts shuffled and packed into minibatches of about {@code tokens_per_minibatch}
   * prompt + response tokens: whole rollouts are added until the budget is reached (a minibatch
   * always holds at least one), so every minibatch costs about the same compute.
   */
  List<int[]> minibatches(List<Rollout> rollouts) {
    var order = new int[rollouts.size()];
    for (int i = 0; i < order.length; i++) order[i] = i;
    for (int i = order.length - 1; i > 0; i--) {
      int j = rng.nextInt(i + 1);
      int swap = order[i];
      order[i] = order[j];
      order[j] = swap;
    }
    var out = new ArrayList<int[]>();
    var current = new ArrayList<Integer>();
    int tokens = 0;
    for (int index : order) {
      current.add(index);
      tokens += rollouts.get(index).tokens();
      if (tokens >= config.tokensPerMinibatch()) {
        out.add(current.stream().mapToInt(Integer::intValue).toArray());
        current.clear();
        tokens = 0;
      }
    }
    if (!current.isEmpty()) {
      // a remainder under half the budget joins the previous minibatch rather than taking a noisy
      // step alone
      if (!out.isEmpty() && tokens < config.tokensPerMinibatch() / 2) {
        var last = out.remove(out.size() - 1);
        current.addAll(0, Arrays.stream(last).boxed().toList());
      }
      out.add(current.stream().mapToInt(Integer::intValue).toArray());
    }
    return out;
  }

  /** About {@code ptx_tokens_per_minibatch} tokens of corpus windows (at least one window). */
  private List<int[]> nextPtxWindows() {
    int count = Math.max(1, config.ptxTokensPerMinibatch() / PTX_WINDOW_TOKENS);
    var windows = new ArrayList<int[]>(count);
    for (int i = 0; i < count; i++) windows.add(ptxWindows.next());
    return windows;
  }

  private static ScoringBatch scoringBatch(NDManager scope, List<Rollout> rollouts) {
    return ScoringBatch.of(
        scope,
        rollouts.stream().map(Rollout::prompt).toList(),
        rollouts.stream().map(Rollout::response).toList());
  }

  private static void split(float[] flat, List<Rollout> rollouts, int width, List<float[]> out) {
    for (int b = 0; b < rollouts.size(); b++) {
      out.add(Arrays.copyOfRange(flat, b * width, b * width + rollouts.get(b).response().length));
    }
  }

  @Override
  public void close() {
    optimizer.close();
  }
}
