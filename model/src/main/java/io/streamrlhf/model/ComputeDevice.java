package io.streamrlhf.model;

import ai.djl.Device;
import ai.djl.engine.Engine;

/** Where a model's parameters live and its arithmetic runs. */
public enum ComputeDevice {
  CPU,
  /** The first GPU PyTorch sees; needs DJL's CUDA build of PyTorch ({@code mvn -Pcuda}). */
  GPU;

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
}
