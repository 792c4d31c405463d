package io.streamrlhf.infra.cli;

import io.streamrlhf.model.ComputeDevice;
import picocli.CommandLine.Option;

/**
 * {@code --device cpu|gpu} (a picocli mixin): where this process's models live and compute. The GPU
 * needs DJL's CUDA build of PyTorch ({@code mvn -Pcuda}) on a machine with a GPU; elsewhere it is
 * refused in one line before anything is written.
 */
final class DeviceOption {
  @Option(
      names = "--device",
      paramLabel = "DEVICE",
      defaultValue = "cpu",
      description =
          "cpu, or gpu: every model this process trains or runs (in rlhf ppo also its in-process"
              + " actors' copies; run rlhf actor apart to keep actors on the CPU) on the first GPU"
              + " PyTorch sees. Needs a build with -Pcuda (DJL's CUDA PyTorch) on a CUDA host.")
  String device;

  /**
   * Puts this process's models on --device; call before any model loads.
   *
   * @throws UserError for an unknown device, or a GPU this machine or build does not have
   */
  void use() {
    try {
      ComputeDevice.useForModels(ComputeDevice.parse(device));
    } catch (IllegalArgumentException e) {
      throw new UserError(e.getMessage()); // it names the device
    }
  }
}
