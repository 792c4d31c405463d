package io.streamrlhf.infra.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

class ResidentTest {
  @Test
  void splitsTheResidentSetAsTheKernelReportsIt() {
    var status =
        List.of(
            "Name:\tjava",
            "VmHWM:\t 1000000 kB",
            "VmRSS:\t  984120 kB",
            "RssAnon:\t  901100 kB",
            "RssFile:\t   83004 kB",
            "RssShmem:\t      16 kB",
            "Threads:\t80");
    assertThat(Resident.parse(status)).isEqualTo(new Resident(984_120, 901_100, 83_004));
  }

  @Test
  void fieldsAnOldKernelLacksReadAsMinusOne() {
    assertThat(Resident.parse(List.of("VmRSS:\t 5000 kB"))).isEqualTo(new Resident(5000, -1, -1));
  }

  @Test
  void thisProcessSplitAddsUp() throws Exception {
    var resident = Resident.parse(Files.readAllLines(Path.of("/proc/self/status")));
    assertThat(resident.anonKb()).isPositive();
    assertThat(resident.fileKb()).isPositive();
    // VmRSS is the sum of the three parts, shared memory the small rest
    assertThat(resident.totalKb()).isGreaterThanOrEqualTo(resident.anonKb() + resident.fileKb());
  }
}
