package io.streamrlhf.learner.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.pytorch.jni.JniUtils;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * AdamW (Loshchilov &amp; Hutter 2019, Algorithm 2) over a model's named parameters, with global
 * L2-norm gradient clipping before the step (DJL's optClipGrad clamps element-wise, which is not
 * what GPT training uses).
 *
 * <pre>
 *   g ← g · min(1, maxNorm / ‖g‖₂)          (norm over all parameters together)
 *   m ← β₁m + (1−β₁)g,  v ← β₂v + (1−β₂)g²
 *   θ ← θ − lr·( m̂ / (√v̂ + ε) + λθ ),     m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ)
 * </pre>
 *
 * <p>Stop-gap: the model module is to provide the project's AdamW; until it lands the RL stages
 * use this one. The moments live in their own manager, closed with the optimizer.
 */
public final class AdamW implements AutoCloseable {
  private static final float EPS = 1e-8f;

  private final Map<String, NDArray> parameters;
  private final double beta1;
  private final double beta2;
  private final double weightDecay;
  private final NDManager manager;
  private final Map<String, NDArray> firstMoments = new LinkedHashMap<>();
  private final Map<String, NDArray> secondMoments = new LinkedHashMap<>();
  private long steps;

  public AdamW(Map<String, NDArray> parameters, double beta1, double beta2, double weightDecay) {
    this.parameters = parameters;
    this.beta1 = beta1;
    this.beta2 = beta2;
    this.weightDecay = weightDecay;
    var any = parameters.values().iterator().next();
    this.manager = any.getManager().newSubManager();
    for (var entry : parameters.entrySet()) {
      firstMoments.put(entry.getKey(), manager.zeros(entry.getValue().getShape(), entry.getValue().getDataType()));
      secondMoments.put(entry.getKey(), manager.zeros(entry.getValue().getShape(), entry.getValue().getDataType()));
    }
  }

  /** Optimizer steps taken. */
  public long steps() {
    return steps;
  }

  /**
   * Clips the accumulated gradients to global norm {@code maxNorm}, takes one step at rate
   * {@code learningRate}, and returns the gradient norm before clipping (for the logs).
   */
  public double step(double learningRate, double maxNorm) {
    boolean gradMode = JniUtils.isGradMode();
    JniUtils.setGradMode(false);
    try (var scope = manager.newSubManager()) {
      double squares = 0;
      for (var p : parameters.values()) {
        var g = p.getGradient();
        squares += g.square().sum().toType(ai.djl.ndarray.types.DataType.FLOAT64, false).getDouble();
        g.close();
      }
      double norm = Math.sqrt(squares);
      float clip = (float) Math.min(1.0, maxNorm / (norm + 1e-6));
      steps++;
      float correction1 = (float) (1 - Math.pow(beta1, steps));
      float correction2 = (float) (1 - Math.pow(beta2, steps));
      for (var entry : parameters.entrySet()) {
        var p = entry.getValue();
        var g = p.getGradient();
        g.attach(scope);
        var clipped = g.mul(clip);
        var m = firstMoments.get(entry.getKey());
        var v = secondMoments.get(entry.getKey());
        m.muli((float) beta1).addi(clipped.mul((float) (1 - beta1)));
        v.muli((float) beta2).addi(clipped.square().mul((float) (1 - beta2)));
        var update = m.div(correction1).div(v.div(correction2).sqrt().add(EPS));
        if (weightDecay != 0) update = update.add(p.mul((float) weightDecay));
        p.subi(update.mul((float) learningRate));
      }
      return norm;
    } finally {
      JniUtils.setGradMode(gradMode);
    }
  }

  @Override
  public void close() {
    manager.close();
  }
}
