package io.streamrlhf.learner.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.streamrlhf.model.Gpt;
import io.streamrlhf.model.WeightSnapshot;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * AdamW (Loshchilov &amp; Hutter 2019, Algorithm 2) over a {@link Gpt}'s parameters, with
 * global-norm gradient clipping (Pascanu et al. 2013) before the update and moments that can be
 * saved and restored exactly, so a resumed run takes the very steps an uninterrupted one would.
 *
 * <pre>
 *   g ← g · min(1, c / ‖g‖₂)                        (global norm over all parameters)
 *   m ← β₁m + (1−β₁)g,   v ← β₂v + (1−β₂)g²
 *   θ ← θ − lr·( m/(1−β₁ᵗ) / (sqrt(v/(1−β₂ᵗ)) + ε) + λθ )
 * </pre>
 *
 * Weight decay λ applies to matrices only (dims ≥ 2: projections and embeddings), not to biases
 * and LayerNorm gains, as in GPT-2/nanoGPT. The moments live in a child of the model's native
 * memory manager; {@link #close} frees them.
 *
 * <p>Lives in learner because the model module has no optimizer yet; when it gains one, this
 * class should give way to it.
 */
public final class AdamW implements AutoCloseable {
  /** ε of Adam; 1e-8 as in Kingma &amp; Ba 2015 and PyTorch. */
  public static final double EPSILON = 1e-8;

  /** The settings every stage config carries. */
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

  private final Gpt model;
  private final Settings settings;
  private final NDManager manager;
  private final Map<String, NDArray> firstMoments = new LinkedHashMap<>();
  private final Map<String, NDArray> secondMoments = new LinkedHashMap<>();
  private long updates;

  public AdamW(Gpt model, Settings settings) {
    this.model = model;
    this.settings = settings;
    var any = model.parameters().values().iterator().next();
    this.manager = any.getManager().newSubManager();
    for (var entry : model.parameters().entrySet()) {
      firstMoments.put(entry.getKey(), manager.zeros(entry.getValue().getShape(), entry.getValue().getDataType()));
      secondMoments.put(entry.getKey(), manager.zeros(entry.getValue().getShape(), entry.getValue().getDataType()));
    }
  }

  /** Updates taken so far: t of the bias corrections. */
  public long updates() {
    return updates;
  }

  /**
   * Clips the gradients the last backward pass left on the parameters and takes one step.
   *
   * @return the global gradient norm before clipping
   */
  public double step(double learningRate) {
    return Gpt.withoutGradient(() -> {
      try (var scope = manager.newSubManager()) {
        var gradients = new LinkedHashMap<String, NDArray>();
        double squares = 0;
        for (var entry : model.parameters().entrySet()) {
          var g = gradientOf(entry.getValue(), scope);
          gradients.put(entry.getKey(), g);
          squares += g.square().sum().toType(DataType.FLOAT64, false).getDouble();
        }
        double norm = Math.sqrt(squares);
        double clip = Math.min(1.0, settings.gradClipNorm() / (norm + 1e-6));
        updates++;
        double correction1 = 1 - Math.pow(settings.beta1(), updates);
        double correction2 = 1 - Math.pow(settings.beta2(), updates);
        for (var entry : model.parameters().entrySet()) {
          var p = entry.getValue();
          var g = gradients.get(entry.getKey());
          if (clip < 1) g = g.mul(clip);
          var m = firstMoments.get(entry.getKey());
          var v = secondMoments.get(entry.getKey());
          m.muli(settings.beta1()).addi(g.mul(1 - settings.beta1()));
          v.muli(settings.beta2()).addi(g.square().muli(1 - settings.beta2()));
          if (settings.weightDecay() > 0 && p.getShape().dimension() >= 2) {
            p.muli(1 - learningRate * settings.weightDecay()); // decoupled decay: θ ← θ − lr·λθ
          }
          var denominator = in(scope, v.div(correction2)).sqrt().addi(EPSILON);
          p.subi(in(scope, m.div(denominator)).muli(learningRate / correction1));
        }
        return norm;
      }
    });
  }

  /**
   * The parameter's gradient in {@code scope}; zeros when the loss did not reach it (the scalar
   * head under a language-model loss), which is what Adam would see for an unused parameter.
   */
  private static NDArray gradientOf(NDArray parameter, NDManager scope) {
    NDArray g;
    try {
      g = parameter.getGradient();
    } catch (IllegalStateException unused) {
      return scope.zeros(parameter.getShape(), parameter.getDataType());
    }
    g.attach(scope);
    return g;
  }

  /** Moves a temporary made from a moment (and so born in this optimizer's manager) into the step scope. */
  private static NDArray in(NDManager scope, NDArray temporary) {
    temporary.attach(scope);
    return temporary;
  }

  /** The moments as a snapshot (version = updates taken), for a checkpoint. */
  public WeightSnapshot state() {
    try (var list = new NDList()) {
      for (var name : firstMoments.keySet()) {
        list.add(named(firstMoments.get(name), "m." + name));
        list.add(named(secondMoments.get(name), "v." + name));
      }
      return new WeightSnapshot(updates, list.encode(NDList.Encoding.SAFETENSORS));
    }
  }

  /** Restores moments and step count written by {@link #state()}. */
  public void restore(WeightSnapshot state) {
    try (var scope = manager.newSubManager()) {
      var decoded = NDList.decode(scope, state.safetensors());
      for (var name : firstMoments.keySet()) {
        copyInto(decoded.get("m." + name), firstMoments.get(name), name);
        copyInto(decoded.get("v." + name), secondMoments.get(name), name);
      }
    }
    updates = state.version();
  }

  private static NDArray named(NDArray moment, String name) {
    var copy = moment.toType(moment.getDataType(), true);
    copy.setName(name);
    return copy;
  }

  private static void copyInto(NDArray source, NDArray target, String name) {
    if (source == null || !source.getShape().equals(target.getShape())) {
      throw new IllegalArgumentException("optimizer state does not fit this model at parameter " + name);
    }
    target.set(source.toType(target.getDataType(), false).toByteBuffer());
  }

  @Override
  public void close() {
    manager.close();
  }
}
