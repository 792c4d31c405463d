package io.streamrlhf.learner.train;

import io.streamrlhf.model.Gpt;
import io.streamrlhf.model.WeightSnapshot;

/**
 * The model module's AdamW ({@link io.streamrlhf.model.AdamW}: decoupled decay on matrices only,
 * global-norm clipping, one fused native update per parameter) bound to the settings every stage
 * config carries, so a trainer says {@code new AdamW(model, settings)} and {@code step(lr)}. The
 * update rule lives in the model module only; this class adds nothing to it.
 */
public final class AdamW implements AutoCloseable {
  /** ε of Adam; 1e-8 as in Kingma &amp; Ba 2015 and PyTorch. */
  public static final double EPSILON = 1e-8;

  /** The AdamW settings of a stage config: betas, decoupled weight decay λ, global clip norm. */
  public record Settings(double beta1, double beta2, double weightDecay, double gradClipNorm) {
    public Settings {
      if (!(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1)) {
        throw new IllegalArgumentException("Adam betas must be in [0, 1), got " + beta1 + ", " + beta2);
      }
      if (!(weightDecay >= 0) || !(gradClipNorm > 0)) {
        throw new IllegalArgumentException("need weight decay >= 0 and clip norm > 0");
      }
    }
  }

  private final io.streamrlhf.model.AdamW optimizer;
  private final Settings settings;

  /** Zero moments for every parameter of {@code model} (whose parameters then require gradients). */
  public AdamW(Gpt model, Settings settings) {
    this.settings = settings;
    this.optimizer = new io.streamrlhf.model.AdamW(model,
        new io.streamrlhf.model.AdamW.Hyperparameters(settings.beta1(), settings.beta2(), EPSILON, settings.weightDecay()));
  }

  /** Updates taken so far: t of the bias corrections. */
  public long updates() {
    return optimizer.stepCount();
  }

  /**
   * Clips the gradients the last backward pass left on the parameters to the global norm, takes
   * one step and clears the gradients.
   *
   * @return the global gradient norm before clipping
   */
  public double step(double learningRate) {
    return optimizer.step((float) learningRate, (float) settings.gradClipNorm());
  }

  /** {@link #step(double)} with a learning rate per parameter name. */
  public double step(java.util.function.ToDoubleFunction<String> learningRateOf) {
    return optimizer.step(learningRateOf, (float) settings.gradClipNorm());
  }

  /** The moments as a snapshot (version = updates taken), for a checkpoint. */
  public WeightSnapshot state() {
    return optimizer.state();
  }

  /** Restores moments and step count written by {@link #state()}. */
  public void restore(WeightSnapshot state) {
    optimizer.restore(state);
  }

  @Override
  public void close() {
    optimizer.close();
  }
}
