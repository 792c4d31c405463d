package io.streamrlhf.learner.ppo;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.streamrlhf.model.Scalars;
import java.util.ArrayList;
import java.util.List;

/**
 * The PPO math of InstructGPT (Ouyang et al. 2022, eq. 2), in the order a PPO update runs it.
 *
 * <pre>
 *   objective(φ) = E[ r_θ(x,y) − β·log(π_φ(y|x) / π_SFT(y|x)) ] + γ_ptx·E_pretrain[ log π_φ(x) ]
 * </pre>
 *
 * <ol>
 *   <li>per-token rewards: the KL penalty on every response token, the (normalised) reward-model
 *       score on the last one, reshaped by the reference log-likelihood (same return);
 *   <li>GAE (Schulman et al. 2016) per response, then advantage whitening across the batch;
 *   <li>padding the per-response arrays into a [B,T] batch with a response mask;
 *   <li>the clipped surrogate (Schulman et al. 2017, eq. 7) with the decoupled-PPO correction for
 *       stale rollouts, the clipped value loss against returns, the entropy bonus, PPO-ptx;
 *   <li>after the batch, the KL controller updates β (Ziegler et al. 2019, eq. 2).
 * </ol>
 *
 * Steps 1–3 work on plain Java arrays (one entry per response token, variable lengths); the losses
 * are NDArray ops on padded [B,T] batches so they carry gradients. Column t of every [B,T] array is
 * response token t; padding columns have mask 0 and never count.
 */
public final class Ppo {
  private Ppo() {}

  // ---------------------------------------------------------------------------------------------
  // 1. Rewards
  // ---------------------------------------------------------------------------------------------

  /**
   * The reward model's score standardised with the mean and standard deviation it had on SFT
   * samples (stored with the RM checkpoint), so that β and the score live on a fixed scale whatever
   * the RM's arbitrary offset (InstructGPT normalises its RM the same way, §C.2).
   */
  public static double normalisedScore(double rawScore, double rmMean, double rmStd) {
    if (!(rmStd > 0)) throw new IllegalArgumentException("RM score std must be > 0, got " + rmStd);
    return (rawScore - rmMean) / rmStd;
  }

  /**
   * Per-token rewards of one response: r_t = −β·(log π(a_t) − log π_SFT(a_t)) on every token, plus
   * the score on the last token. The KL is charged per token (Ziegler et al. 2019; Stiennon et al.
   * 2020), not as a sequence mean, so GAE sees where in the response the policy drifted.
   *
   * @param logProbs log π of the sampled tokens under the policy that sampled them (the rollout's
   *     behaviour log-probs)
   * @param refLogProbs log π_SFT of the same tokens under the frozen reference model
   * @param score the (normalised) reward-model score of the whole response
   */
  public static float[] tokenRewards(
      float[] logProbs, float[] refLogProbs, double score, double beta) {
    requireSameLength(logProbs, refLogProbs, "logProbs", "refLogProbs");
    if (logProbs.length == 0)
      throw new IllegalArgumentException("a response has at least one token");
    var rewards = new float[logProbs.length];
    for (int t = 0; t < rewards.length; t++) {
      rewards[t] = (float) (-beta * ((double) logProbs[t] - refLogProbs[t]));
    }
    rewards[rewards.length - 1] += (float) score;
    return rewards;
  }

  /**
   * {@link #tokenRewards} with potential-based reward shaping (Ng, Harada and Russell 1999) by the
   * reference model's prefix log-likelihood, Φ(s_t) = κ·Σ_{k<t} log π_SFT(a_k):
   *
   * <pre>
   *   r'_t = r_t + Φ(s_{t+1}) − Φ(s_t) = r_t + κ·log π_SFT(a_t)        for t < T−1
   *   r'_{T−1} = r_{T−1} − Φ(s_{T−1})                                      (Φ(end) = 0)
   * </pre>
   *
   * so each token is paid κ times its reference log-likelihood when it is sampled, and the last
   * token gives the whole sum back. A response's return, and with γ = 1 every policy's objective,
   * is exactly unchanged; only the timing moves. Why: the RM's score contains w·log π_SFT(y|x)
   * (RewardModel's likelihood term), so with the score on the last token alone every token's return
   * carries the likelihood of the tokens before it, which a critic must learn to subtract; shaped,
   * the return-to-go from s_t is the score minus Φ(s_t), and an unlikely token is charged at the
   * token that made it.
   *
   * @param shaping κ, in reward per nat: reference_shaping × w ÷ the RM's score std (the scale of
   *     the normalised score); 0 gives {@link #tokenRewards}
   */
  public static float[] shapedTokenRewards(
      float[] logProbs, float[] refLogProbs, double score, double beta, double shaping) {
    var rewards = tokenRewards(logProbs, refLogProbs, score, beta);
    double potential = 0;
    for (int t = 0; t < rewards.length; t++) {
      rewards[t] = (float) (rewards[t] + shaping * refLogProbs[t]);
      potential += shaping * refLogProbs[t];
    }
    rewards[rewards.length - 1] = (float) (rewards[rewards.length - 1] - potential);
    return rewards;
  }

  /**
   * KL(π‖π_SFT) of one response, estimated by Σ_t (log π(a_t) − log π_SFT(a_t)) over its sampled
   * tokens: the per-sample KL that the KL controller targets and the eval table reports.
   */
  public static double responseKl(float[] logProbs, float[] refLogProbs) {
    requireSameLength(logProbs, refLogProbs, "logProbs", "refLogProbs");
    double kl = 0;
    for (int t = 0; t < logProbs.length; t++) kl += (double) logProbs[t] - refLogProbs[t];
    return kl;
  }

  // ---------------------------------------------------------------------------------------------
  // 2. Generalised advantage estimation (Schulman et al. 2016, eqs. 11–16)
  // ---------------------------------------------------------------------------------------------

  /** Advantages Â_t and the value targets R_t = Â_t + V(s_t) of one response. */
  public record Gae(float[] advantages, float[] returns) {}

  /**
   * GAE over one response, backwards from its last token:
   *
   * <pre>
   *   δ_t = r_t + γ·V(s_{t+1}) − V(s_t),   V(s_T) = 0 (the episode ends at the last token)
   *   Â_t = δ_t + γλ·Â_{t+1}
   *   R_t = Â_t + V(s_t)                    (the value head's regression target)
   * </pre>
   */
  public static Gae gae(float[] rewards, float[] values, double gamma, double lambda) {
    requireSameLength(rewards, values, "rewards", "values");
    int length = rewards.length;
    var advantages = new float[length];
    var returns = new float[length];
    double nextValue = 0; // terminal bootstrap: nothing follows end-of-sequence or the 48th token
    double nextAdvantage = 0;
    for (int t = length - 1; t >= 0; t--) {
      double delta = rewards[t] + gamma * nextValue - values[t];
      double advantage = delta + gamma * lambda * nextAdvantage;
      advantages[t] = (float) advantage;
      returns[t] = (float) (advantage + values[t]);
      nextValue = values[t];
      nextAdvantage = advantage;
    }
    return new Gae(advantages, returns);
  }

  /**
   * Advantage whitening across the whole batch: (Â − mean) / sqrt(var + 1e-8), mean and unbiased
   * variance over every real token of every response (as trl's masked_whiten). It fixes the scale
   * of the policy gradient whatever the reward scale; done once per batch, before the minibatches.
   */
  public static List<float[]> whiten(List<float[]> advantages) {
    long count = 0;
    double sum = 0;
    for (var row : advantages) {
      for (float a : row) sum += a;
      count += row.length;
    }
    if (count == 0) return List.copyOf(advantages);
    double mean = sum / count;
    double squares = 0;
    for (var row : advantages) {
      for (float a : row) squares += (a - mean) * (a - mean);
    }
    double variance = count > 1 ? squares / (count - 1) : 0;
    double scale = 1 / Math.sqrt(variance + 1e-8);
    var whitened = new ArrayList<float[]>(advantages.size());
    for (var row : advantages) {
      var out = new float[row.length];
      for (int t = 0; t < row.length; t++) out[t] = (float) ((row[t] - mean) * scale);
      whitened.add(out);
    }
    return whitened;
  }

  // ---------------------------------------------------------------------------------------------
  // 3. Padding to a [B,T] batch
  // ---------------------------------------------------------------------------------------------

  /** Per-response arrays as one float32 [B, width] array, zero-padded on the right. */
  public static NDArray padded(NDManager manager, List<float[]> rows, int width) {
    var flat = new float[rows.size() * width];
    for (int b = 0; b < rows.size(); b++) {
      var row = rows.get(b);
      if (row.length > width) {
        throw new IllegalArgumentException(
            "row " + b + " has " + row.length + " tokens > width " + width);
      }
      System.arraycopy(row, 0, flat, b * width, row.length);
    }
    return manager.create(flat, new Shape(rows.size(), width));
  }

  /** The response mask for {@link #padded}: 1 on a response's real tokens, 0 on padding. */
  public static NDArray responseMask(NDManager manager, int[] lengths, int width) {
    var flat = new float[lengths.length * width];
    for (int b = 0; b < lengths.length; b++) {
      if (lengths[b] > width) {
        throw new IllegalArgumentException(
            "row " + b + " has " + lengths[b] + " tokens > width " + width);
      }
      for (int t = 0; t < lengths[b]; t++) flat[b * width + t] = 1f;
    }
    return manager.create(flat, new Shape(lengths.length, width));
  }

  /**
   * Mean of x over the real tokens of the batch: Σ x·mask / Σ mask. Every loss below averages per
   * token over the whole minibatch, so a long response weighs by its length.
   */
  public static NDArray maskedMean(NDArray x, NDArray mask) {
    var m = mask.getDataType() == x.getDataType() ? mask : mask.toType(x.getDataType(), false);
    return x.mul(m).sum().div(m.sum());
  }

  // ---------------------------------------------------------------------------------------------
  // 4. Losses over a [B,T] minibatch
  // ---------------------------------------------------------------------------------------------

  /**
   * The clipped-surrogate loss and its diagnostics. {@code loss} carries the gradient; the rest are
   * logged (and {@code approxKl} may stop the epochs early).
   *
   * @param clipFraction share of real tokens whose ratio lies outside [1−ε, 1+ε]
   * @param approxKl KL(π_prox ‖ π_θ) by the k3 estimator mean((r−1) − log r) (Schulman,
   *     "Approximating KL divergence", 2020; as CleanRL's approx_kl): ≥ 0 per token, unbiased
   * @param meanImportanceWeight mean truncated behaviour weight (exactly 1 when on-policy)
   * @param truncatedFraction share of real tokens whose behaviour weight hit the cap
   */
  public record PolicyLoss(
      NDArray loss,
      float clipFraction,
      float approxKl,
      float meanImportanceWeight,
      float truncatedFraction) {}

  /**
   * Standard PPO-clip (Schulman et al. 2017, eq. 7), as a loss to minimise:
   *
   * <pre>
   *   r_t = π_θ(a_t) / π_old(a_t)
   *   L   = −mean_t min( r_t·Â_t, clip(r_t, 1−ε, 1+ε)·Â_t )
   * </pre>
   *
   * It is {@link #decoupledPolicyLoss} with the behaviour policy equal to the proximal one, where
   * the importance weight is exp(0) = 1 exactly.
   *
   * @param logProbs log π_θ of the response tokens, [B,T], with gradient
   * @param oldLogProbs log π_old of the same tokens, [B,T], no gradient
   * @param advantages whitened advantages, [B,T]
   * @param mask response mask, [B,T]
   */
  public static PolicyLoss policyLoss(
      NDArray logProbs, NDArray oldLogProbs, NDArray advantages, NDArray mask, double clipRatio) {
    return decoupledPolicyLoss(
        logProbs, oldLogProbs, oldLogProbs, advantages, mask, clipRatio, 1.0);
  }

  /**
   * Decoupled PPO (Hilton et al. 2022, "Batch size-invariance for policy optimization"; used for
   * asynchronous RL by AReaL, Fu et al. 2025), the off-policy correction of the streaming loop:
   *
   * <pre>
   *   r_t = π_θ(a_t) / π_prox(a_t)                        (the trust region is around π_prox)
   *   w_t = min( π_prox(a_t) / π_behav(a_t), c̄ )          (truncated importance weight, no gradient)
   *   L   = −mean_t w_t · min( r_t·Â_t, clip(r_t, 1−ε, 1+ε)·Â_t )
   * </pre>
   *
   * Why this choice: in the streaming loop an actor samples with weights a few versions old (the
   * behaviour policy). Clipping the ratio against that stale policy, as plain PPO would, measures
   * the trust region from the wrong point: the learner has already moved, so ratios start outside
   * [1−ε, 1+ε] and their gradient is cut off, and more lag means less learning. Decoupled PPO keeps
   * the trust region where the update starts — the proximal policy, the learner's own weights
   * before this batch's update, whose log-probs the learner recomputes — and corrects the sampling
   * distribution separately with the weight π_prox/π_behav. That weight is truncated at c̄ as
   * IMPALA's V-trace truncates its c̄ (Espeholt et al. 2018) so a token the stale policy rarely
   * sampled cannot blow up the variance. When the rollout is on-policy (behaviour == proximal) w_t
   * = exp(0) = 1 ≤ c̄ and this is standard PPO, bit for bit.
   *
   * @param logProbs log π_θ, [B,T], with gradient
   * @param proximalLogProbs log π_prox: the learner's weights before this update, [B,T], no
   *     gradient
   * @param behaviourLogProbs log π_behav from the actor that sampled the rollout, [B,T], no
   *     gradient
   * @param weightCap c̄ ≥ 1 (so that on-policy tokens keep weight 1)
   */
  public static PolicyLoss decoupledPolicyLoss(
      NDArray logProbs,
      NDArray proximalLogProbs,
      NDArray behaviourLogProbs,
      NDArray advantages,
      NDArray mask,
      double clipRatio,
      double weightCap) {
    return decoupledPolicyLoss(
        logProbs,
        proximalLogProbs,
        behaviourLogProbs,
        advantages,
        mask,
        null,
        clipRatio,
        weightCap);
  }

  /**
   * {@link #decoupledPolicyLoss} with per-token policy versions (in-flight weight swaps: an actor
   * may load newer weights between two decode steps, so one response mixes versions). Per token,
   * nothing else changes: π_behav(a_t) is already the probability under the version that sampled
   * token t, so w_t = π_prox/π_behav corrects each token for its own staleness, and a token sampled
   * after a swap (fresher) simply gets a weight nearer 1. What the versions add is the staleness
   * bound per token:
   *
   * <pre>
   *   lag_t   = u − v_t                       (u: the learner's version, v_t: token t's version)
   *   fresh_t = 1 if lag_t ≤ max_lag else 0   ({@link #freshTokens})
   *   L       = −Σ_t mask_t·fresh_t·w_t·min(...) / Σ_t mask_t·fresh_t
   * </pre>
   *
   * A token older than max_lag leaves the off-policy correction altogether (its loss and the
   * diagnostics), rather than being trusted to the truncated weight. The rollout-level check (a
   * rollout's policyVersion is its oldest token's) already drops such rollouts, so on the streaming
   * path this only guards; with {@code fresh} null or all ones it is {@link #decoupledPolicyLoss}
   * exactly.
   *
   * @param fresh [B,T] 1 on tokens within max_lag, 0 on older ones; null: every token fresh
   */
  public static PolicyLoss decoupledPolicyLoss(
      NDArray logProbs,
      NDArray proximalLogProbs,
      NDArray behaviourLogProbs,
      NDArray advantages,
      NDArray mask,
      NDArray fresh,
      double clipRatio,
      double weightCap) {
    if (fresh != null) mask = mask.mul(fresh.toType(mask.getDataType(), false));
    if (!(weightCap >= 1))
      throw new IllegalArgumentException("importance weight cap must be >= 1, got " + weightCap);
    var logRatio = logProbs.sub(proximalLogProbs.stopGradient());
    var ratio = logRatio.exp();
    var unclipped = ratio.mul(advantages);
    var clipped = ratio.clip((float) (1 - clipRatio), (float) (1 + clipRatio)).mul(advantages);
    var surrogate = unclipped.minimum(clipped);

    var rawWeight = proximalLogProbs.sub(behaviourLogProbs).stopGradient().exp();
    var weight = rawWeight.minimum((float) weightCap);
    var loss = maskedMean(weight.mul(surrogate), mask).neg();

    // Diagnostics, outside the gradient.
    var r = ratio.stopGradient();
    float clipFraction =
        maskedMean(r.sub(1f).abs().gt((float) clipRatio).toType(DataType.FLOAT32, false), mask)
            .getFloat();
    float approxKl = maskedMean(r.sub(1f).sub(logRatio.stopGradient()), mask).getFloat();
    float meanWeight = maskedMean(weight, mask).getFloat();
    float truncated =
        maskedMean(rawWeight.gt((float) weightCap).toType(DataType.FLOAT32, false), mask)
            .getFloat();
    return new PolicyLoss(loss, clipFraction, approxKl, meanWeight, truncated);
  }

  /**
   * 1 on each token sampled at most {@code maxLag} versions before {@code learnerVersion}, 0 on
   * older ones (see {@link #decoupledPolicyLoss(NDArray, NDArray, NDArray, NDArray, NDArray,
   * NDArray, double, double)}). A version ahead of the learner (actors of a run a resumed learner
   * restarted behind) counts as lag 0.
   */
  public static float[] freshTokens(long[] tokenVersions, long learnerVersion, int maxLag) {
    var fresh = new float[tokenVersions.length];
    for (int t = 0; t < fresh.length; t++) {
      fresh[t] = Math.max(0, learnerVersion - tokenVersions[t]) <= maxLag ? 1f : 0f;
    }
    return fresh;
  }

  /**
   * Clipped value loss against the GAE returns (not the rewards: with γ = 1 the value of a token is
   * everything still to come, the score included):
   *
   * <pre>
   *   V_clip = V_old + clip(V − V_old, −c, c)
   *   L_V    = ½·mean_t max( (V − R)², (V_clip − R)² )
   * </pre>
   *
   * as in OpenAI baselines' ppo2 and CleanRL's clip_vloss: the value head cannot chase a new return
   * further than c from its rollout-time prediction in one batch.
   *
   * @param values V_θ, [B,T], with gradient
   * @param oldValues the values recorded when the batch was built, [B,T]
   * @param returns R_t from {@link #gae}, [B,T]
   */
  public static NDArray valueLoss(
      NDArray values, NDArray oldValues, NDArray returns, NDArray mask, double clipRange) {
    var old = oldValues.stopGradient();
    var clippedValues = old.add(values.sub(old).clip((float) -clipRange, (float) clipRange));
    var unclippedError = values.sub(returns).square();
    var clippedError = clippedValues.sub(returns).square();
    return Scalars.times(maskedMean(unclippedError.maximum(clippedError), mask), 0.5);
  }

  /**
   * Mean policy entropy H = −Σ_v p_v·log p_v over real tokens, from the logits [B,T,V] at the
   * response positions. Its bonus keeps sampling from collapsing early (Schulman et al. 2017, eq.
   * 9).
   */
  public static NDArray entropy(NDArray logits, NDArray mask) {
    var logp = logits.logSoftmax(-1);
    var perToken = logp.exp().mul(logp).sum(new int[] {-1}).neg();
    return maskedMean(perToken, mask);
  }

  /**
   * The PPO loss of Schulman et al. 2017, eq. 9, with signs for minimising: L = L_clip + c_V·L_V −
   * c_H·H. Pass {@code entropy = null} when the bonus is off.
   */
  public static NDArray ppoLoss(
      NDArray policyLoss,
      NDArray valueLoss,
      NDArray entropy,
      double valueLossCoef,
      double entropyCoef) {
    var loss = policyLoss.add(Scalars.times(valueLoss, valueLossCoef));
    return entropy == null || entropyCoef == 0
        ? loss
        : loss.sub(Scalars.times(entropy, entropyCoef));
  }

  /**
   * PPO-ptx (InstructGPT eq. 2, last term): the pretraining log-likelihood mixed into the objective
   * with coefficient γ_ptx, so RL does not erode what pretraining taught (the "alignment tax"). As
   * a loss: L = L_ppo + γ_ptx·L_ptx, where L_ptx is the mean next-token NLL on a corpus batch.
   */
  public static NDArray withPretrainingLoss(NDArray ppoLoss, NDArray ptxLoss, double ptxCoef) {
    return ptxCoef == 0 ? ppoLoss : ppoLoss.add(Scalars.times(ptxLoss, ptxCoef));
  }

  // ---------------------------------------------------------------------------------------------
  // 5. KL control, after each batch
  // ---------------------------------------------------------------------------------------------

  /** How β, the KL-penalty coefficient of {@link #tokenRewards}, evolves between batches. */
  public sealed interface KlController permits FixedKl, AdaptiveKl {
    double beta();

    /**
     * The controller for the next batch.
     *
     * @param meanResponseKl mean of {@link #responseKl} over the batch's responses
     * @param responses how many responses the batch had (Ziegler's n_steps)
     */
    KlController update(double meanResponseKl, long responses);
  }

  /** A constant β (InstructGPT used β = 0.02 throughout). */
  public record FixedKl(double beta) implements KlController {
    @Override
    public KlController update(double meanResponseKl, long responses) {
      return this;
    }
  }

  /**
   * Ziegler et al. 2019, §2.2: a proportional controller that steers the per-response KL to a
   * target:
   *
   * <pre>
   *   e_t = clip( KL_t / KL_target − 1, −0.2, 0.2 )
   *   β  ← β·(1 + e_t·n_steps / horizon)
   * </pre>
   */
  public record AdaptiveKl(double beta, double targetKl, long horizon) implements KlController {
    public AdaptiveKl {
      if (!(beta >= 0)) throw new IllegalArgumentException("beta must be >= 0, got " + beta);
      if (!(targetKl > 0))
        throw new IllegalArgumentException("target KL must be > 0, got " + targetKl);
      if (horizon <= 0)
        throw new IllegalArgumentException("KL horizon must be > 0, got " + horizon);
    }

    @Override
    public AdaptiveKl update(double meanResponseKl, long responses) {
      double error = Math.max(-0.2, Math.min(0.2, meanResponseKl / targetKl - 1));
      return new AdaptiveKl(beta * (1 + error * responses / horizon), targetKl, horizon);
    }
  }

  private static void requireSameLength(float[] a, float[] b, String nameA, String nameB) {
    if (a.length != b.length) {
      throw new IllegalArgumentException(
          nameA + " has " + a.length + " tokens but " + nameB + " has " + b.length);
    }
  }
}
