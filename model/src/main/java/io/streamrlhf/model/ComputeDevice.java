package io.streamrlhf.model;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;

/**
 * Where a model's parameters live and its arithmetic runs.
 *
 * <p>A process puts all its models on one device, chosen once at start ({@link #useForModels}, the
 * CLI's {@code --device}); the CPU unless chosen. Every array a step makes goes in a {@link
 * #scope()} on that device: DJL's own default is the GPU wherever its CUDA build sees one, and
 * arrays there would meet CPU parameters.
 */
public enum ComputeDevice {
  CPU,
  /** The first GPU PyTorch sees; needs DJL's CUDA build of PyTorch ({@code mvn -Pcuda}). */
  GPU;

  private static volatile ComputeDevice forModels = CPU;
  private static volatile Device forModelsDjl = Device.cpu();

  /** The DJL device, failing with one line a user can act on when no GPU is visible. */
  public Device toDjl() {
    if (this == CPU) {
      return Device.cpu();
    }
    int gpus = Engine.getEngine("PyTorch").getGpuCount();
    if (gpus == 0) {
      throw new IllegalArgumentException(
          "device gpu: PyTorch sees no GPU on this machine (build with -Pcuda on a CUDA host), use --device cpu");
    }
    return Device.gpu(0);
  }

  /** {@code cpu} or {@code gpu}, case-insensitive. */
  public static ComputeDevice parse(String name) {
    return switch (name.toLowerCase(java.util.Locale.ROOT)) {
      case "cpu" -> CPU;
      case "gpu", "cuda" -> GPU;
      default ->
          throw new IllegalArgumentException("unknown device '" + name + "': use cpu or gpu");
    };
  }

  /**
   * Puts the models this process creates or loads from now on on {@code device}; call before the
   * first one. Fails, changing nothing, when the device is not there.
   */
  public static void useForModels(ComputeDevice device) {
    forModelsDjl = device.toDjl();
    forModels = device;
  }

  /** Where this process's models go: {@link #CPU} unless {@link #useForModels} chose otherwise. */
  public static ComputeDevice forModels() {
    return forModels;
  }

  /** A fresh manager for one step's arrays, on the device of this process's models. */
  public static NDManager scope() {
    return NDManager.newBaseManager(forModelsDjl, "PyTorch");
  }
}
