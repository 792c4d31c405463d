package io.streamrlhf.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import ai.djl.Device;
import ai.djl.engine.Engine;
import org.junit.jupiter.api.Test;

/**
 * A process's models and the arrays of its steps live on one device: the CPU unless chosen, and a
 * GPU the machine lacks is refused in one line without moving anything.
 */
class ComputeDeviceTest {

  /**
   * On a CPU-only build DJL's default device is the CPU as well; on a CUDA host with a GPU this is
   * the check that scopes do not follow DJL's default (the GPU) away from the models.
   */
  @Test
  void modelsAndStepScopesShareTheProcessDeviceTheCpuByDefault() {
    assertThat(ComputeDevice.forModels()).isEqualTo(ComputeDevice.CPU);
    try (var model = Gpt.create(GptConfig.tiny(), 1);
        var scope = ComputeDevice.scope()) {
      assertThat(model.device()).isEqualTo(ComputeDevice.CPU);
      assertThat(scope.getDevice()).isEqualTo(Device.cpu());
    }
  }

  @Test
  void aGpuThisMachineLacksIsRefusedInOneLineAndTheCpuStays() {
    assumeTrue(Engine.getEngine("PyTorch").getGpuCount() == 0, "a GPU is present");

    assertThatThrownBy(() -> ComputeDevice.useForModels(ComputeDevice.GPU))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(
            "device gpu: PyTorch sees no GPU on this machine (build with -Pcuda on a CUDA host),"
                + " use --device cpu");
    assertThat(ComputeDevice.forModels()).isEqualTo(ComputeDevice.CPU);
    try (var scope = ComputeDevice.scope()) {
      assertThat(scope.getDevice()).isEqualTo(Device.cpu());
    }
  }

  @Test
  void devicesParseCaseInsensitivelyAndAnUnknownOneIsNamed() {
    assertThat(ComputeDevice.parse("CPU")).isEqualTo(ComputeDevice.CPU);
    assertThat(ComputeDevice.parse("gpu")).isEqualTo(ComputeDevice.GPU);
    assertThat(ComputeDevice.parse("cuda")).isEqualTo(ComputeDevice.GPU);
    assertThatThrownBy(() -> ComputeDevice.parse("tpu"))
        .hasMessage("unknown device 'tpu': use cpu or gpu");
  }
}
