package io.streamrlhf.infra.scale;

import static org.assertj.core.api.Assertions.assertThat;

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
        Thread.sleep(800);
        sampler.sampleNow();
        var samples = sampler.samples();
        assertThat(samples).hasSizeGreaterThan(3).allMatch(s -> s.source().equals("busy"));
        var first = samples.get(0);
        var last = samples.get(samples.size() - 1);
        assertThat(last.millis()).isGreaterThan(first.millis());
        // a spinning shell on a machine with other work gets at least a fair part of a core
        assertThat(last.cpuS() - first.cpuS()).isGreaterThan(0.1);
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
