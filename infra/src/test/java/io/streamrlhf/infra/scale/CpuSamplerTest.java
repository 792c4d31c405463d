package io.streamrlhf.infra.scale;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamrlhf.infra.stream.Watch;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The sampler reads a real process's CPU time from the OS as it grows. */
class CpuSamplerTest {
  @Test
  void aBusyProcesssCpuTimeGrowsAndAGoneOneIsNotSampled() throws Exception {
    var busy = new ProcessBuilder("sh", "-c", "while :; do :; done").start();
    try {
      var handle = busy.toHandle();
      try (var sampler =
          new CpuSampler(() -> List.of(Map.entry("busy", handle)), Duration.ofMillis(50))) {
        // the sampler's own thread samples on; its readings grow as the shell spins
        Watch.until(
            () -> {
              var s = sampler.samples();
              return s.size() > 3 && s.get(s.size() - 1).cpuS() - s.get(0).cpuS() > 0.1;
            },
            "more than 3 samples and 0.1 CPU-s of growth",
            Duration.ofMinutes(1));
        var samples = sampler.samples();
        assertThat(samples).allMatch(s -> s.source().equals("busy"));
        assertThat(samples.get(samples.size() - 1).millis()).isGreaterThan(samples.get(0).millis());
        sampler.close(); // its thread could otherwise add a sample read just before the kill
        busy.destroyForcibly().waitFor();
        int before = sampler.samples().size();
        sampler.sampleNow();
        assertThat(sampler.samples()).hasSize(before);
      }
    } finally {
      busy.destroyForcibly();
    }
  }
}
