package io.streamrlhf.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.stream.Stream;

/**
 * AdamW (Loshchilov &amp; Hutter 2019: Adam with weight decay decoupled from the gradient) over a
 * {@link Gpt}'s parameters, with global-norm gradient clipping and a learning rate given per step,
 * so schedules live with the caller.
 *
 * <p>One {@link #step} does, for every parameter with a gradient, in this order:
 *
 * <ol>
 *   <li>g ← g · c with c = min(1, maxGradNorm / (‖g‖₂ + 1e-6)), ‖g‖₂ over all parameters together
 *       (as torch.nn.utils.clip_grad_norm_);
 *   <li>w ← w − lr · λ · w (decoupled decay; λ = weightDecay for matrices and embeddings, 0 for
 *       biases and LayerNorm gains, as nanoGPT);
 *   <li>m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g²;
 *   <li>w ← w − lr · √(1−β₂ᵗ)/(1−β₁ᵗ) · m / (√v + ε) (Kingma &amp; Ba 2015, Algorithm 1's
 *       "efficient" form: ε sits outside the bias correction, unlike PyTorch's by a factor √(1−β₂ᵗ)
 *       on ε);
 * </ol>
 *
 * then clears the gradients. Steps 2–4 are one fused native call per parameter (DJL's PyTorch
 * {@code adamUpdate}), and the clip factor rides on its gradient rescale argument.
 *
 * <p>A trainer builds it from its stage config's {@link Settings} and calls {@link #step(double)};
 * benchmarks and tests may give every hyperparameter and the clip norm per step instead.
 */
public final class AdamW implements AutoCloseable {

  /** ε of Adam; 1e-8 as in Kingma &amp; Ba 2015 and PyTorch. */
  public static final double EPSILON = 1e-8;

  /**
   * @param beta1 first-moment decay
   * @param beta2 second-moment decay
   * @param epsilon added to √v
   * @param weightDecay decoupled decay λ for weight matrices and embeddings
   */
  public record Hyperparameters(double beta1, double beta2, double epsilon, double weightDecay) {
    /** PyTorch's AdamW defaults: β = (0.9, 0.999), ε = 1e-8, λ = 0.01. */
    public static Hyperparameters defaults() {
      return new Hyperparameters(0.9, 0.999, 1e-8, 0.01);
    }
  }

  /**
   * The AdamW settings every stage config carries: betas, decoupled weight decay λ and the global
   * clip norm; ε is {@link #EPSILON}.
   */
  public record Settings(double beta1, double beta2, double weightDecay, double gradClipNorm) {
    public Settings {
      if (!(beta1 >= 0 && beta1 < 1 && beta2 >= 0 && beta2 < 1)) {
        throw new IllegalArgumentException(
            "Adam betas must be in [0, 1), got " + beta1 + ", " + beta2);
      }
      if (!(weightDecay >= 0) || !(gradClipNorm > 0)) {
        throw new IllegalArgumentException("need weight decay >= 0 and clip norm > 0");
      }
    }
  }

  private static final String FIRST_MOMENT = "exp_avg.";
  private static final String SECOND_MOMENT = "exp_avg_sq.";

  private final Hyperparameters hyper;

  /** The clip norm of {@link #step(double)}: the settings' norm, or none. */
  private final float gradClipNorm;

  private final List<String> names;
  private final List<PtNDArray> weights;
  private final List<PtNDArray> firstMoments = new ArrayList<>();
  private final List<PtNDArray> secondMoments = new ArrayList<>();
  private final NDManager manager;
  private long steps;

  /**
   * Zero moments for every parameter of {@code model} (whose parameters then require gradients);
   * {@link #step(double)} clips to {@code settings.gradClipNorm()}.
   */
  public AdamW(Gpt model, Settings settings) {
    this(
        model,
        new Hyperparameters(settings.beta1(), settings.beta2(), EPSILON, settings.weightDecay()),
        (float) settings.gradClipNorm());
  }

  /** Zero moments for every parameter of {@code model}; makes its parameters require gradients. */
  public AdamW(Gpt model, Hyperparameters hyper) {
    this(model, hyper, Float.POSITIVE_INFINITY);
  }

  private AdamW(Gpt model, Hyperparameters hyper, float gradClipNorm) {
    this.hyper = hyper;
    this.gradClipNorm = gradClipNorm;
    this.names = List.copyOf(model.parameters().keySet());
    this.weights = model.parameters().values().stream().map(p -> (PtNDArray) p).toList();
    this.manager = weights.get(0).getManager().newSubManager();
    model.requireGradients();
    for (var w : weights) {
      firstMoments.add((PtNDArray) manager.zeros(w.getShape(), w.getDataType()));
      secondMoments.add((PtNDArray) manager.zeros(w.getShape(), w.getDataType()));
    }
  }

  /** Updates taken so far (t in the bias correction). */
  public long stepCount() {
    return steps;
  }

  /**
   * {@link #step(float, float)} at the clip norm this optimizer was built with.
   *
   * @return the global gradient norm before clipping
   */
  public float step(double learningRate) {
    return step((float) learningRate, gradClipNorm);
  }

  /** {@link #step(double)} with a learning rate per parameter name. */
  public float step(java.util.function.ToDoubleFunction<String> learningRateOf) {
    return step(learningRateOf, gradClipNorm);
  }

  /**
   * One AdamW update from the gradients accumulated since the last step, then clears them.
   *
   * @param learningRate this step's learning rate
   * @param maxGradNorm clip the global gradient norm to this; {@code Float.POSITIVE_INFINITY}
   *     disables clipping
   * @return the global gradient norm before clipping
   * @throws NonFiniteGradientException if the gradient norm is not finite (nothing is updated)
   */
  public float step(float learningRate, float maxGradNorm) {
    return step(name -> learningRate, maxGradNorm);
  }

  /**
   * {@link #step(float, float)} with a learning rate per parameter, by name: e.g. a value head that
   * must fit its targets faster than the trunk under it may move.
   */
  public float step(java.util.function.ToDoubleFunction<String> learningRateOf, float maxGradNorm) {
    boolean gradMode = JniUtils.isGradMode();
    JniUtils.setGradMode(false);
    try (NDManager scope = manager.newSubManager()) {
      var gradients = new PtNDArray[weights.size()];
      var norms = new NDList();
      for (int i = 0; i < weights.size(); i++) {
        gradients[i] = JniUtils.getGradient(weights.get(i));
        if (gradients[i] != null) { // a parameter the loss did not touch has no gradient
          gradients[i].attach(scope);
          norms.add(gradients[i].norm());
        }
      }
      if (norms.isEmpty()) {
        throw new IllegalStateException(
            "AdamW.step without gradients: run backward inside a " + "GradientCollector first");
      }
      float norm =
          (float)
              NDArrays.stack(norms)
                  .norm()
                  .toType(ai.djl.ndarray.types.DataType.FLOAT64, false)
                  .getDouble();
      if (!Float.isFinite(norm)) {
        zeroGradients();
        throw new NonFiniteGradientException(
            "gradient norm is " + norm + " at AdamW step " + (steps + 1) + "; no update taken");
      }
      float clip = (float) Math.min(1.0, maxGradNorm / (norm + 1e-6));
      steps++;
      double biasCorrection =
          Math.sqrt(1 - Math.pow(hyper.beta2(), steps)) / (1 - Math.pow(hyper.beta1(), steps));
      for (int i = 0; i < weights.size(); i++) {
        if (gradients[i] == null) {
          continue;
        }
        var w = weights.get(i);
        float learningRate = (float) learningRateOf.applyAsDouble(names.get(i));
        float decay = w.getShape().dimension() >= 2 ? (float) hyper.weightDecay() : 0f;
        JniUtils.adamUpdate(
            w,
            gradients[i],
            firstMoments.get(i),
            secondMoments.get(i),
            learningRate,
            (float) (learningRate * biasCorrection),
            decay,
            clip,
            -1f,
            (float) hyper.beta1(),
            (float) hyper.beta2(),
            (float) hyper.epsilon(),
            true);
      }
      zeroGradients();
      return norm;
    } finally {
      JniUtils.setGradMode(gradMode);
    }
  }

  private void zeroGradients() {
    weights.forEach(JniUtils::zeroGrad);
  }

  /**
   * The moments by PyTorch's names: first {@code exp_avg.<param>}, then {@code exp_avg_sq.<param>},
   * each set a snapshot of its own (version = step count), encoded as it is iterated: a checkpoint
   * holds one at a time. Each is the size of the weights, which {@link GptConfig} keeps within one
   * snapshot; both in one would not fit above 268 M parameters. Iterate before the next step.
   */
  public Iterable<WeightSnapshot> state() {
    long version = steps;
    return () -> Stream.of(FIRST_MOMENT, SECOND_MOMENT).map(m -> moments(m, version)).iterator();
  }

  private WeightSnapshot moments(String prefix, long version) {
    if (version != steps) {
      throw new IllegalStateException("optimizer state of step " + version + " read at " + steps);
    }
    var moments = prefix.equals(FIRST_MOMENT) ? firstMoments : secondMoments;
    var byName = new LinkedHashMap<String, NDArray>();
    for (int i = 0; i < names.size(); i++) byName.put(prefix + names.get(i), moments.get(i));
    return new WeightSnapshot(version, SafetensorsLayout.encode(byName));
  }

  /**
   * Restores moments and step count written by {@link #state()} for a model of the same shape, from
   * its snapshots in any order, or from one holding both moments (as checkpoints once stored them);
   * reads one snapshot at a time.
   */
  public void restore(Iterable<WeightSnapshot> state) {
    Long version = null;
    var missing = new LinkedHashMap<String, NDArray>();
    for (int i = 0; i < names.size(); i++) {
      missing.put(FIRST_MOMENT + names.get(i), firstMoments.get(i));
      missing.put(SECOND_MOMENT + names.get(i), secondMoments.get(i));
    }
    var restored = new HashSet<String>();
    for (var part : state) {
      if (version == null) version = part.version();
      if (part.version() != version) {
        throw new IllegalArgumentException(
            "optimizer state parts of steps " + version + " and " + part.version());
      }
      var payload = part.safetensors();
      for (var entry : SafetensorsLayout.parse(payload).entries().entrySet()) {
        var target = missing.remove(entry.getKey());
        if (target != null) {
          copyInto(entry.getKey(), entry.getValue(), payload, target);
          restored.add(entry.getKey());
        } else if (restored.contains(entry.getKey())) {
          throw new IllegalArgumentException(
              "optimizer state holds " + entry.getKey() + " in two parts");
        }
      }
    }
    if (!missing.isEmpty()) {
      throw new IllegalArgumentException(
          "optimizer state does not fit this model: "
              + missing.keySet().iterator().next()
              + " is missing");
    }
    steps = version;
  }

  /**
   * One moment tensor from its bytes in the payload, tensor by tensor: the moments of a large model
   * are gigabytes, and decoding a whole part first would hold another copy of it.
   */
  private void copyInto(
      String name, SafetensorsLayout.Entry source, byte[] payload, NDArray target) {
    var shape = new Shape(source.shape());
    if (!source.dtype().equals("F32")
        || !shape.equals(target.getShape())
        || source.to() - source.from() != shape.size() * Float.BYTES) {
      throw new IllegalArgumentException(
          "optimizer state does not fit this model: "
              + name
              + " is "
              + source.dtype()
              + " "
              + shape
              + ", expected F32 "
              + target.getShape());
    }
    var values =
        ByteBuffer.wrap(payload, source.from(), source.to() - source.from())
            .order(ByteOrder.LITTLE_ENDIAN)
            .asFloatBuffer();
    try (NDManager scope = manager.newSubManager();
        var tensor = scope.create(values, shape)) {
      target.set(tensor.toType(target.getDataType(), false).toByteBuffer());
    }
  }

  @Override
  public void close() {
    manager.close();
  }

  /** A gradient whose norm is NaN or infinite: the loss diverged, and no update was taken. */
  public static final class NonFiniteGradientException extends ArithmeticException {
    public NonFiniteGradientException(String message) {
      super(message);
    }
  }
}
