package io.streamrlhf.learner.ppo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class PpoTest {
  private static NDManager manager;

  @BeforeAll
  static void open() {
    manager = NDManager.newBaseManager();
  }

  @AfterAll
  static void close() {
    manager.close();
  }

  // --- 1. rewards -------------------------------------------------------------------------------

  @Test
  void klPenaltyIsChargedPerTokenAndScoreOnlyOnLastToken() {
    float[] logProbs = {-1.0f, -2.0f, -0.5f};
    float[] refLogProbs = {-1.5f, -1.0f, -0.5f};
    // log π − log π_SFT = 0.5, −1.0, 0.0; β = 0.1:
    //   r_0 = −0.1·0.5 = −0.05, r_1 = −0.1·(−1.0) = +0.1, r_2 = 0 + score 2.0 = 2.0
    float[] rewards = Ppo.tokenRewards(logProbs, refLogProbs, 2.0, 0.1);
    assertThat(rewards).containsExactly(new float[] {-0.05f, 0.1f, 2.0f}, within(1e-6f));
    // response KL = 0.5 − 1.0 + 0 = −0.5 (a single-sample estimate may be negative)
    assertThat(Ppo.responseKl(logProbs, refLogProbs)).isCloseTo(-0.5, within(1e-9));
  }

  @Test
  void referenceShapingPaysEachTokensLikelihoodAndKeepsTheReturn() {
    float[] logProbs = {-1.0f, -2.0f, -0.5f};
    float[] refLogProbs = {-1.5f, -1.0f, -0.5f};
    // unshaped (above): −0.05, 0.1, 2.0. κ = 0.5 adds κ·log π_SFT = −0.75, −0.5, −0.25 to each
    // token
    // and takes their sum, −1.5, back on the last: −0.8, −0.4, 2.0 − 0.25 + 1.5 = 3.25
    float[] shaped = Ppo.shapedTokenRewards(logProbs, refLogProbs, 2.0, 0.1, 0.5);
    assertThat(shaped).containsExactly(new float[] {-0.8f, -0.4f, 3.25f}, within(1e-6f));
    // the return is the unshaped one, 2.05; κ = 0 is the unshaped rewards
    assertThat(shaped[0] + shaped[1] + shaped[2]).isCloseTo(2.05f, within(1e-6f));
    assertThat(Ppo.shapedTokenRewards(logProbs, refLogProbs, 2.0, 0.1, 0))
        .containsExactly(Ppo.tokenRewards(logProbs, refLogProbs, 2.0, 0.1));
    // GAE's returns from the first token agree too (γ = 1, λ = 1, zero values: the return itself)
    var zeros = new float[3];
    assertThat(Ppo.gae(shaped, zeros, 1, 1).returns()[0])
        .isCloseTo(
            Ppo.gae(Ppo.tokenRewards(logProbs, refLogProbs, 2.0, 0.1), zeros, 1, 1).returns()[0],
            within(1e-6f));
  }

  @Test
  void scoreIsNormalisedWithTheRewardModelsSftStatistics() {
    // (3 − 1) / 4 = 0.5
    assertThat(Ppo.normalisedScore(3, 1, 4)).isEqualTo(0.5);
    assertThatThrownBy(() -> Ppo.normalisedScore(3, 1, 0))
        .isInstanceOf(IllegalArgumentException.class);
  }

  // --- 2. GAE -----------------------------------------------------------------------------------

  @Test
  void gaeMatchesHandComputedThreeStepCase() {
    // rewards (0, 0, 1), values (0.5, 0.6, 0.7), γ = 1, λ = 0.5, V after the last token = 0:
    //   t=2: δ = 1 + 0 − 0.7 = 0.3;   Â = 0.3;                 R = 0.3 + 0.7 = 1.0
    //   t=1: δ = 0 + 0.7 − 0.6 = 0.1; Â = 0.1 + 0.5·0.3 = 0.25;  R = 0.25 + 0.6 = 0.85
    //   t=0: δ = 0 + 0.6 − 0.5 = 0.1; Â = 0.1 + 0.5·0.25 = 0.225; R = 0.225 + 0.5 = 0.725
    var gae = Ppo.gae(new float[] {0, 0, 1}, new float[] {0.5f, 0.6f, 0.7f}, 1.0, 0.5);
    assertThat(gae.advantages()).containsExactly(new float[] {0.225f, 0.25f, 0.3f}, within(1e-6f));
    assertThat(gae.returns()).containsExactly(new float[] {0.725f, 0.85f, 1.0f}, within(1e-6f));
  }

  @Test
  void gaeMatchesNaiveDoubleLoopOnRandomResponsesOfSeveralLengths() {
    var random = new SplittableRandom(7);
    for (int length : new int[] {1, 2, 5, 17, 48}) {
      for (double[] gammaLambda :
          new double[][] {{1.0, 0.95}, {0.9, 0.8}, {1.0, 1.0}, {0.99, 0.0}}) {
        float[] rewards = new float[length];
        float[] values = new float[length];
        for (int t = 0; t < length; t++) {
          rewards[t] = (float) random.nextDouble(-1, 1);
          values[t] = (float) random.nextDouble(-2, 2);
        }
        double gamma = gammaLambda[0];
        double lambda = gammaLambda[1];
        var gae = Ppo.gae(rewards, values, gamma, lambda);
        // Independent definition: Â_t = Σ_{l ≥ 0} (γλ)^l·δ_{t+l}, with V(s_T) = 0.
        for (int t = 0; t < length; t++) {
          double expected = 0;
          for (int l = 0; t + l < length; l++) {
            int k = t + l;
            double nextValue = k + 1 < length ? values[k + 1] : 0.0;
            double delta = rewards[k] + gamma * nextValue - values[k];
            expected += Math.pow(gamma * lambda, l) * delta;
          }
          assertThat((double) gae.advantages()[t])
              .as("len %d t %d", length, t)
              .isCloseTo(expected, within(1e-4));
          assertThat((double) gae.returns()[t]).isCloseTo(expected + values[t], within(1e-4));
        }
      }
    }
  }

  @Test
  void whiteningUsesMeanAndStdOverAllRealTokensOfTheBatch() {
    // tokens 1, 2 | 3: mean 2, unbiased variance ((1)² + 0 + (1)²) / (3 − 1) = 1 → −1, 0 | 1
    var whitened = Ppo.whiten(List.of(new float[] {1, 2}, new float[] {3}));
    assertThat(whitened.get(0)).containsExactly(new float[] {-1, 0}, within(1e-6f));
    assertThat(whitened.get(1)).containsExactly(new float[] {1}, within(1e-6f));
  }

  @Test
  void paddingAndMaskLineUpWithResponseLengths() {
    var padded = Ppo.padded(manager, List.of(new float[] {1, 2}, new float[] {3}), 3);
    var mask = Ppo.responseMask(manager, new int[] {2, 1}, 3);
    assertThat(padded.getShape()).isEqualTo(new Shape(2, 3));
    assertThat(padded.toFloatArray()).containsExactly(1, 2, 0, 3, 0, 0);
    assertThat(mask.toFloatArray()).containsExactly(1, 1, 0, 1, 0, 0);
    // padding set to 1000, yet the masked mean is (1 + 2 + 3) / 3 = 2
    var withJunkPadding = padded.add(mask.neg().add(1).mul(1000));
    assertThat(Ppo.maskedMean(withJunkPadding, mask).getFloat()).isCloseTo(2f, within(1e-5f));
  }

  // --- 4. losses --------------------------------------------------------------------------------

  // Five real tokens and one padding token; ε = 0.2. Per-token surrogate min(r·A, clip(r)·A):
  //   t0 r=0.9 A=+2 (inside):              min(1.8, 1.8)   =  1.8
  //   t1 r=1.5 A=+1 (above, clipped):      min(1.5, 1.2)   =  1.2
  //   t2 r=0.5 A=−1 (below, clipped):      min(−0.5, −0.8) = −0.8
  //   t3 r=1.5 A=−1 (above, unclipped):    min(−1.5, −1.2) = −1.5
  //   t4 r=0.5 A=+1 (below, unclipped):    min(0.5, 0.8)   =  0.5
  //   t5 padding (r=3, A=5) must not count
  // mean over real tokens = (1.8 + 1.2 − 0.8 − 1.5 + 0.5) / 5 = 1.2 / 5 = 0.24 → loss −0.24
  private static final float[] RATIOS = {0.9f, 1.5f, 0.5f, 1.5f, 0.5f, 3f};
  private static final float[] ADVANTAGES = {2, 1, -1, -1, 1, 5};
  private static final float[] MASK = {1, 1, 1, 1, 1, 0};
  private static final float[] PROXIMAL = {-0.3f, -1.2f, -2.0f, -0.7f, -0.1f, -0.5f};

  private static NDArray row(float[] values) {
    return manager.create(values, new Shape(1, values.length));
  }

  private static NDArray logProbsAt(float[] base, float[] ratios) {
    var out = new float[base.length];
    for (int t = 0; t < base.length; t++) out[t] = base[t] + (float) Math.log(ratios[t]);
    return row(out);
  }

  @Test
  void clippedSurrogateMatchesHandComputedValuesInsideAndOutsideTheClipRange() {
    var old = row(new float[6]);
    var logProbs = logProbsAt(new float[6], RATIOS);
    logProbs.setRequiresGradient(true);
    Ppo.PolicyLoss result;
    try (var collector = Engine.getInstance().newGradientCollector()) {
      result = Ppo.policyLoss(logProbs, old, row(ADVANTAGES), row(MASK), 0.2);
      collector.backward(result.loss());
    }
    assertThat(result.loss().getFloat()).isCloseTo(-0.24f, within(1e-6f));
    // |r − 1| > 0.2 for t1..t4: 4 of 5 real tokens
    assertThat(result.clipFraction()).isCloseTo(0.8f, within(1e-6f));
    // k3 = (r − 1) − ln r: t0 −0.1 + 0.1053605 = 0.0053605; r=1.5: 0.5 − 0.4054651 = 0.0945349;
    // r=0.5: −0.5 + 0.6931472 = 0.1931472; mean = (0.0053605 + 2·0.0945349 + 2·0.1931472) / 5 =
    // 0.1161449
    assertThat(result.approxKl()).isCloseTo(0.1161449f, within(1e-5f));
    assertThat(result.meanImportanceWeight()).isEqualTo(1f);
    // ∂L/∂log π_t = −(1/5)·r_t·A_t where the unclipped branch is taken, 0 where clipping holds it:
    //   t0 −0.2·0.9·2 = −0.36, t1 0, t2 0, t3 −0.2·1.5·(−1) = 0.3, t4 −0.2·0.5·1 = −0.1, t5 0
    assertThat(logProbs.getGradient().toFloatArray())
        .containsExactly(new float[] {-0.36f, 0, 0, 0.3f, -0.1f, 0}, within(1e-6f));
  }

  /**
   * Behaviour equal to proximal, under a weight cap above 1: every weight is exp(0) = 1, and the
   * loss and clip fraction are standard PPO's, by hand in the test above (policyLoss itself is this
   * call with the cap at 1, so comparing with it would prove nothing).
   */
  @Test
  void decoupledLossIsStandardPpoWhenBehaviourIsProximal() {
    var proximal = row(PROXIMAL);
    var logProbs = logProbsAt(PROXIMAL, RATIOS);
    var decoupled =
        Ppo.decoupledPolicyLoss(
            logProbs, proximal, row(PROXIMAL), row(ADVANTAGES), row(MASK), 0.2, 2.0);
    assertThat(decoupled.loss().getFloat()).isCloseTo(-0.24f, within(1e-6f));
    assertThat(decoupled.clipFraction()).isCloseTo(0.8f, within(1e-6f));
    assertThat(decoupled.meanImportanceWeight()).isEqualTo(1f);
    assertThat(decoupled.truncatedFraction()).isZero();
  }

  @Test
  void decoupledLossWeighsEachTokenByTheTruncatedBehaviourRatio() {
    // w = π_prox/π_behav = 2, 0.5, 1, 4 → capped at c̄ = 2, 1 (t5 is padding):
    //   2·1.8 + 0.5·1.2 + 1·(−0.8) + 2·(−1.5) + 1·0.5 = 3.6 + 0.6 − 0.8 − 3.0 + 0.5 = 0.9
    //   loss = −0.9 / 5 = −0.18; mean weight (2 + 0.5 + 1 + 2 + 1) / 5 = 1.3; truncated 1 / 5
    float[] weights = {2, 0.5f, 1, 4, 1, 7};
    var behaviour = new float[6];
    for (int t = 0; t < 6; t++) behaviour[t] = PROXIMAL[t] - (float) Math.log(weights[t]);
    var result =
        Ppo.decoupledPolicyLoss(
            logProbsAt(PROXIMAL, RATIOS),
            row(PROXIMAL),
            row(behaviour),
            row(ADVANTAGES),
            row(MASK),
            0.2,
            2.0);
    assertThat(result.loss().getFloat()).isCloseTo(-0.18f, within(1e-5f));
    assertThat(result.meanImportanceWeight()).isCloseTo(1.3f, within(1e-5f));
    assertThat(result.truncatedFraction()).isCloseTo(0.2f, within(1e-6f));
    // The trust region is still around the proximal policy: same clip fraction as on-policy.
    assertThat(result.clipFraction()).isCloseTo(0.8f, within(1e-6f));
  }

  /** Behaviour log-probs whose truncated weights differ token by token (as in the test above). */
  private static float[] staleBehaviour() {
    float[] weights = {2, 0.5f, 1, 4, 1, 7};
    var behaviour = new float[6];
    for (int t = 0; t < 6; t++) behaviour[t] = PROXIMAL[t] - (float) Math.log(weights[t]);
    return behaviour;
  }

  @Test
  void perTokenVersionsGiveDecoupledPpoExactlyWhenAllTokensShareOneVersion() {
    var logProbs = logProbsAt(PROXIMAL, RATIOS);
    var decoupled =
        Ppo.decoupledPolicyLoss(
            logProbs, row(PROXIMAL), row(staleBehaviour()), row(ADVANTAGES), row(MASK), 0.2, 2.0);
    // one version for the whole response, 3 updates behind the learner, within max_lag 4
    var fresh = Ppo.freshTokens(new long[] {7, 7, 7, 7, 7, 7}, 10, 4);
    assertThat(fresh).containsOnly(1f);
    var perToken =
        Ppo.decoupledPolicyLoss(
            logProbs,
            row(PROXIMAL),
            row(staleBehaviour()),
            row(ADVANTAGES),
            row(MASK),
            row(fresh),
            0.2,
            2.0);
    assertThat(perToken.loss().getFloat()).isEqualTo(decoupled.loss().getFloat());
    assertThat(perToken.clipFraction()).isEqualTo(decoupled.clipFraction());
    assertThat(perToken.approxKl()).isEqualTo(decoupled.approxKl());
    assertThat(perToken.meanImportanceWeight()).isEqualTo(decoupled.meanImportanceWeight());
    assertThat(perToken.truncatedFraction()).isEqualTo(decoupled.truncatedFraction());
  }

  @Test
  void aTokenOlderThanMaxLagLeavesTheCorrectionAndFresherOnesStay() {
    // in flight: v5 sampled tokens 0-1, v8 the rest; at v10 with max_lag 4, tokens 0-1 lag 5
    var fresh = Ppo.freshTokens(new long[] {5, 5, 8, 8, 8, 8}, 10, 4);
    assertThat(fresh).containsExactly(0, 0, 1, 1, 1, 1);
    var logProbs = logProbsAt(PROXIMAL, RATIOS);
    var perToken =
        Ppo.decoupledPolicyLoss(
            logProbs,
            row(PROXIMAL),
            row(staleBehaviour()),
            row(ADVANTAGES),
            row(MASK),
            row(fresh),
            0.2,
            2.0);
    // the same as masking tokens 0 and 1 by hand: w = 1, 2 (capped from 4), 1 on tokens 2-4,
    //   1·(−0.8) + 2·(−1.5) + 1·0.5 = −3.3 → loss = 3.3 / 3 = 1.1
    var byHand =
        Ppo.decoupledPolicyLoss(
            logProbs,
            row(PROXIMAL),
            row(staleBehaviour()),
            row(ADVANTAGES),
            row(new float[] {0, 0, 1, 1, 1, 0}),
            0.2,
            2.0);
    assertThat(perToken.loss().getFloat()).isEqualTo(byHand.loss().getFloat());
    assertThat(perToken.loss().getFloat()).isCloseTo(1.1f, within(1e-5f));
    assertThat(perToken.meanImportanceWeight()).isCloseTo(4f / 3, within(1e-5f));
    // a version ahead of the learner (a resumed learner's actors) counts as lag 0
    assertThat(Ppo.freshTokens(new long[] {11, 12}, 10, 0)).containsExactly(1, 1);
  }

  @Test
  void valueLossRegressesOnReturnsNotRewards() {
    // rewards (0, 1), rollout values (0.5, 0.5), γ = λ = 1:
    //   t=1: Â = 1 − 0.5 = 0.5, R = 1.0;  t=0: δ = 0 + 0.5 − 0.5 = 0, Â = 0 + 0.5 = 0.5, R = 1.0
    float[] rewards = {0, 1};
    float[] oldValues = {0.5f, 0.5f};
    var gae = Ppo.gae(rewards, oldValues, 1.0, 1.0);
    assertThat(gae.returns()).containsExactly(1f, 1f);
    var values = row(new float[] {0.8f, 0.6f});
    var mask = row(new float[] {1, 1});
    // clip range 10 (inactive): ½·((0.8 − 1)² + (0.6 − 1)²)/2 = ½·(0.04 + 0.16)/2 = 0.05
    var loss = Ppo.valueLoss(values, row(oldValues), row(gae.returns()), mask, 10).getFloat();
    assertThat(loss).isCloseTo(0.05f, within(1e-6f));
    // against the rewards it would be ½·((0.8 − 0)² + (0.6 − 1)²)/2 = ½·(0.64 + 0.16)/2 = 0.2
    var wrong = Ppo.valueLoss(values, row(oldValues), row(rewards), mask, 10).getFloat();
    assertThat(wrong).isCloseTo(0.2f, within(1e-6f));
  }

  @Test
  void valueLossTakesTheLargerOfClippedAndUnclippedError() {
    // old (1, 1), new (1.5, 0.9), returns (2, 0), c = 0.2:
    //   t0: unclipped (1.5 − 2)² = 0.25; V_clip = 1.2 → (1.2 − 2)² = 0.64; max 0.64
    //   t1: unclipped (0.9 − 0)² = 0.81; V_clip = 0.9 (within c) → 0.81; max 0.81
    //   ½·(0.64 + 0.81)/2 = 0.3625
    var values = row(new float[] {1.5f, 0.9f});
    values.setRequiresGradient(true);
    NDArray loss;
    try (var collector = Engine.getInstance().newGradientCollector()) {
      loss =
          Ppo.valueLoss(
              values,
              row(new float[] {1, 1}),
              row(new float[] {2, 0}),
              row(new float[] {1, 1}),
              0.2);
      collector.backward(loss);
    }
    assertThat(loss.getFloat()).isCloseTo(0.3625f, within(1e-6f));
    // t0 is held by the clipped branch: no gradient; t1: ½·2·(0.9 − 0)/2 = 0.45
    assertThat(values.getGradient().toFloatArray())
        .containsExactly(new float[] {0, 0.45f}, within(1e-6f));
  }

  @Test
  void entropyIsMaskedMeanOfPerTokenEntropy() {
    // t0 logits (0, 0): H = ln 2 = 0.6931472; t1 logits (ln 3, 0): p = (0.75, 0.25),
    // H = 0.75·0.2876821 + 0.25·1.3862944 = 0.5623351; t2 is padding. mean = 0.6277411
    var logits =
        manager.create(new float[] {0, 0, (float) Math.log(3), 0, 9, -9}, new Shape(1, 3, 2));
    var entropy = Ppo.entropy(logits, row(new float[] {1, 1, 0})).getFloat();
    assertThat(entropy).isCloseTo(0.6277411f, within(1e-6f));
  }

  @Test
  void totalLossCombinesTermsWithTheirCoefficients() {
    var policy = manager.create(1.0f);
    var value = manager.create(2.0f);
    var entropy = manager.create(0.5f);
    // 1.0 + 0.1·2.0 − 0.01·0.5 = 1.195; with ptx loss 3.0 at γ_ptx 0.2: 1.195 + 0.6 = 1.795
    var ppo = Ppo.ppoLoss(policy, value, entropy, 0.1, 0.01);
    assertThat(ppo.getFloat()).isCloseTo(1.195f, within(1e-6f));
    assertThat(Ppo.withPretrainingLoss(ppo, manager.create(3.0f), 0.2).getFloat())
        .isCloseTo(1.795f, within(1e-6f));
    assertThat(Ppo.ppoLoss(policy, value, null, 0.1, 0.01).getFloat())
        .isCloseTo(1.2f, within(1e-6f));
  }

  // --- 5. KL control ----------------------------------------------------------------------------

  @Test
  void adaptiveKlControllerRaisesBetaAboveTargetAndLowersItBelowWithClip() {
    var controller = new Ppo.AdaptiveKl(0.1, 6.0, 1000);
    // KL 6.6: e = 6.6/6 − 1 = 0.1; β = 0.1·(1 + 0.1·100/1000) = 0.101
    assertThat(controller.update(6.6, 100).beta()).isCloseTo(0.101, within(1e-12));
    // KL 9: e = 0.5 → clipped to 0.2; β = 0.1·(1 + 0.2·0.1) = 0.102
    assertThat(controller.update(9.0, 100).beta()).isCloseTo(0.102, within(1e-12));
    // KL 5.4: e = −0.1; β = 0.1·(1 − 0.01) = 0.099
    assertThat(controller.update(5.4, 100).beta()).isCloseTo(0.099, within(1e-12));
    // KL 0: e = −1 → clipped to −0.2; β = 0.1·(1 − 0.02) = 0.098
    assertThat(controller.update(0.0, 100).beta()).isCloseTo(0.098, within(1e-12));
    // on target: unchanged
    assertThat(controller.update(6.0, 100).beta()).isCloseTo(0.1, within(1e-12));
    assertThat(new Ppo.FixedKl(0.02).update(100, 100).beta()).isEqualTo(0.02);
  }

  /**
   * A toy problem where the target is reachable: a softmax policy over 5 answers with rewards 0, ¼,
   * ½, ¾, 1 and a uniform reference, improved by exact gradient ascent on E[r] − β·KL(π‖π_ref)
   * between controller updates. KL(π_β‖π_ref) falls from log 5 to 0 as β grows, so a target of 0.3
   * nats has one β that meets it; the controller must find it from β 20 times too small.
   */
  @Test
  void adaptiveKlControllerReachesAReachableTargetOnAToyPolicy() {
    double target = 0.3;
    Ppo.KlController adaptive = new Ppo.AdaptiveKl(0.01, target, 1000);
    Ppo.KlController fixed = new Ppo.FixedKl(0.01);
    var adaptiveKl = new double[400];
    var fixedKl = new double[400];
    var adaptiveLogits = new double[5];
    var fixedLogits = new double[5];
    for (int update = 0; update < 400; update++) {
      adaptiveKl[update] = toyPolicySteps(adaptiveLogits, adaptive.beta());
      fixedKl[update] = toyPolicySteps(fixedLogits, fixed.beta());
      adaptive = adaptive.update(adaptiveKl[update], 64); // 64 responses a batch, as the demo's PPO
      fixed = fixed.update(fixedKl[update], 64);
    }
    for (int update = 350; update < 400; update++) {
      assertThat(adaptiveKl[update])
          .as("KL at update %d", update)
          .isCloseTo(target, within(0.1 * target));
    }
    // the same policy with β held at its start overshoots the target: the controller did the work
    assertThat(fixedKl[399]).isGreaterThan(3 * target);
    assertThat(adaptive.beta()).isGreaterThan(10 * 0.01);
  }

  /**
   * 20 exact gradient steps (learning rate 0.5) of E_π[r] − β·KL(π‖uniform); returns the KL after
   * them.
   */
  private static double toyPolicySteps(double[] logits, double beta) {
    double[] rewards = {0, 0.25, 0.5, 0.75, 1};
    double kl = 0;
    for (int step = 0; step < 20; step++) {
      double max = java.util.Arrays.stream(logits).max().orElseThrow();
      double[] p = java.util.Arrays.stream(logits).map(l -> Math.exp(l - max)).toArray();
      double z = java.util.Arrays.stream(p).sum();
      for (int i = 0; i < p.length; i++) p[i] /= z;
      // f_i = r_i − β·(log p_i − log(1/5)); ∂/∂logit_j of Σ p_i f_i = p_j (f_j − E_p[f]) (the β·∂f
      // terms sum to 0)
      double[] f = new double[p.length];
      double mean = 0;
      kl = 0;
      for (int i = 0; i < p.length; i++) {
        f[i] = rewards[i] - beta * (Math.log(p[i]) + Math.log(p.length));
        mean += p[i] * f[i];
        kl += p[i] * (Math.log(p[i]) + Math.log(p.length));
      }
      for (int j = 0; j < p.length; j++) logits[j] += 0.5 * (p[j] * (f[j] - mean));
    }
    return kl;
  }
}
