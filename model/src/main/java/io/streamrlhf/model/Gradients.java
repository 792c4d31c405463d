package io.streamrlhf.model;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.training.GradientCollector;
import java.util.concurrent.locks.ReentrantLock;

/**
 * DJL's PyTorch engine allows one {@link GradientCollector} per JVM at a time, and a process may
 * train two models at once (the PPO learner beside the online reward trainer): every backward pass
 * takes its turn here, first come first served, for as long as its collector is open.
 */
public final class Gradients {
  private static final ReentrantLock TURN = new ReentrantLock(true);

  private Gradients() {}

  /** A gradient collector that holds this JVM's turn until it is closed. */
  public static GradientCollector collector() {
    TURN.lock();
    try {
      return new Turn(Engine.getEngine("PyTorch").newGradientCollector());
    } catch (RuntimeException | Error e) {
      TURN.unlock();
      throw e;
    }
  }

  private record Turn(GradientCollector collector) implements GradientCollector {
    @Override
    public void backward(NDArray target) {
      collector.backward(target);
    }

    @Override
    public void zeroGradients() {
      collector.zeroGradients();
    }

    @Override
    public void close() {
      try {
        collector.close();
      } finally {
        TURN.unlock();
      }
    }
  }
}
