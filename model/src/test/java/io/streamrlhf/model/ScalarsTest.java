package io.streamrlhf.model;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;

class ScalarsTest {

  /**
   * The backward pass runs after garbage collections and after the freed native memory has been
   * handed out again and overwritten: the constant autograd kept must still be the constant.
   */
  @Test
  void gradientsThroughAConstantSurviveGarbageCollectionBetweenForwardAndBackward() {
    float[] x = {-2f, -0.5f, 0.25f, 3f};
    assertThat(gradientAfterChurn(x, v -> Scalars.times(v, 3))).containsExactly(3f, 3f, 3f, 3f);
    assertThat(gradientAfterChurn(x, v -> Scalars.dividedBy(v, 4)))
        .containsExactly(0.25f, 0.25f, 0.25f, 0.25f);
    // d max(x, 0)/dx is 1 where x > 0, else 0
    assertThat(gradientAfterChurn(x, v -> Scalars.atLeast(v, 0))).containsExactly(0f, 0f, 1f, 1f);
  }

  @Test
  void valuesMatchTheOpsTheyStandFor() {
    try (NDManager m = NDManager.newBaseManager()) {
      var v = m.create(new float[] {-2f, 0.5f, 3f});
      assertThat(Scalars.times(v, -1.5).toFloatArray()).containsExactly(3f, -0.75f, -4.5f);
      assertThat(Scalars.dividedBy(v, 2).toFloatArray()).containsExactly(-1f, 0.25f, 1.5f);
      assertThat(Scalars.atLeast(v, 0.5).toFloatArray()).containsExactly(0.5f, 0.5f, 3f);
    }
  }

  private static float[] gradientAfterChurn(float[] values, UnaryOperator<NDArray> op) {
    try (NDManager m = NDManager.newBaseManager();
        var collector = Engine.getEngine("PyTorch").newGradientCollector()) {
      var x = m.create(values);
      x.setRequiresGradient(true);
      var loss = op.apply(x).sum();
      for (int round = 0; round < 5; round++) {
        System.gc();
        var junk = new ArrayList<ByteBuffer>();
        for (int i = 0; i < 20_000; i++) {
          junk.add(ByteBuffer.allocateDirect(4).order(ByteOrder.nativeOrder()).putFloat(0, 1e6f));
        }
      }
      collector.backward(loss);
      return x.getGradient().toFloatArray();
    }
  }
}
