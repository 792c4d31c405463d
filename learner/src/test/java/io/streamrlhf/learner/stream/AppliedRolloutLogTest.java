package io.streamrlhf.learner.stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AppliedRolloutLogTest {

  @Test
  void resumingCutsTheLogBackToWhatTheCheckpointCovered(@TempDir Path dir) throws IOException {
    var log = AppliedRolloutLog.create(dir);
    log.add("r:0:0:0");
    log.add("r:0:1:0");
    log.flush(); // checkpoint v1 records this length
    long bytes = log.bytes();
    long count = log.durableCount();
    assertThat(count).isEqualTo(2);
    assertThat(bytes).isEqualTo("r:0:0:0\nr:0:1:0\n".length());
    log.add("r:1:0:0");
    log.flush(); // appended, then the learner died before checkpoint v2
    log.add("r:1:1:0"); // pending only

    var resumed = AppliedRolloutLog.resume(dir, bytes, count);
    assertThat(AppliedRolloutLog.read(dir, Files.size(dir.resolve(AppliedRolloutLog.FILE))))
        .containsExactly("r:0:0:0", "r:0:1:0");
    // update 2 is applied again after the restart: its ids appear once
    resumed.add("r:1:0:0");
    resumed.add("r:1:1:0");
    assertThat(resumed.count()).isEqualTo(4);
    resumed.flush();
    assertThat(AppliedRolloutLog.read(dir, resumed.bytes()))
        .containsExactly("r:0:0:0", "r:0:1:0", "r:1:0:0", "r:1:1:0");
  }

  @Test
  void aLogShorterThanItsCheckpointIsAnErrorNotASilentGap(@TempDir Path dir) throws IOException {
    var log = AppliedRolloutLog.create(dir);
    log.add("r:0:0:0");
    log.flush();
    Files.write(dir.resolve(AppliedRolloutLog.FILE), new byte[0]);
    assertThatThrownBy(() -> AppliedRolloutLog.resume(dir, log.bytes(), log.durableCount()))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("shorter than the 8 bytes");
  }

  @Test
  void aNewRunStartsAnEmptyLog(@TempDir Path dir) throws IOException {
    Files.writeString(dir.resolve(AppliedRolloutLog.FILE), "old:0:0:0\n");
    var log = AppliedRolloutLog.create(dir);
    assertThat(log.count()).isZero();
    assertThat(Files.size(dir.resolve(AppliedRolloutLog.FILE))).isZero();
  }
}
