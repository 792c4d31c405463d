package io.streamrlhf.infra.affinity;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class CpuSetTest {
  @Test
  void parsesTasksetListsAndPrintsThemFolded() {
    assertThat(CpuSet.parse("0").toString()).isEqualTo("0");
    assertThat(CpuSet.parse("0-1").size()).isEqualTo(2);
    assertThat(CpuSet.parse("0,2").toString()).isEqualTo("0,2");
    assertThat(CpuSet.parse("3,0-2").toString()).isEqualTo("0-3");
    assertThat(CpuSet.parse("0-6:2").toString()).isEqualTo("0,2,4,6");
    assertThat(CpuSet.parse("1").within(CpuSet.parse("0-1"))).isTrue();
    assertThat(CpuSet.parse("0,2").within(CpuSet.parse("0-1"))).isFalse();
  }

  @Test
  void refusesWhatIsNotACpuList() {
    for (var bad : new String[] {"", "a", "1-", "2-1", "0,,1", "-1", "0-4:0", "99999999999"}) {
      assertThatThrownBy(() -> CpuSet.parse(bad))
          .as(bad)
          .isInstanceOf(IllegalArgumentException.class);
    }
  }

  @Test
  void thisProcessAndEachOfItsThreadsHaveAnAffinity() {
    var allowed = CpuSet.allowed();
    assertThat(allowed.size()).isPositive();
    assertThat(CpuSet.threadsOf(ProcessHandle.current().pid()))
        .isNotEmpty()
        .allSatisfy(t -> assertThat(t.within(allowed)).isTrue());
  }
}
