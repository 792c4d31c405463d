package io.streamrlhf.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import java.util.function.BinaryOperator;

/**
 * Arithmetic with a constant on arrays that autograd records, safe across a garbage collection.
 *
 * <p>DJL's {@code x.mul(2f)}, {@code div}, {@code maximum} and {@code minimum} with a number make
 * the number a tensor over a Java direct buffer, apply the op and close that tensor at once.
 * Autograd keeps the tensor for the backward pass (d(x·c)/dx = c), but its bytes belong to the
 * buffer, which the next garbage collection frees: a backward pass after one reads whatever has
 * been written there since. In the PPO loss that corrupted about one backward pass in 4,000 (the
 * loss bit for bit the same, every parameter's gradient different) and failed the resume test in
 * about one run in 60. Here the constant is a libtorch tensor ({@code full}), which autograd's
 * reference keeps alive after DJL lets go of it. Ops that keep nothing for backward ({@code add},
 * {@code sub}), or run without gradient, may use DJL's number forms.
 */
public final class Scalars {
  private Scalars() {}

  /** x · c. */
  public static NDArray times(NDArray x, double c) {
    return withConstant(x, c, NDArray::mul);
  }

  /** x / c. */
  public static NDArray dividedBy(NDArray x, double c) {
    return withConstant(x, c, NDArray::div);
  }

  /** max(x, c) element-wise. */
  public static NDArray atLeast(NDArray x, double c) {
    return withConstant(x, c, NDArray::maximum);
  }

  /**
   * {@code op(x, c)} with c a libtorch scalar of x's type; closing our handle leaves autograd's.
   */
  private static NDArray withConstant(NDArray x, double c, BinaryOperator<NDArray> op) {
    try (var constant = x.getManager().full(new Shape(), (float) c, x.getDataType())) {
      return op.apply(x, constant);
    }
  }
}
