package io.streamrlhf.learner.stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AppliedIdLogTest {

  @Test
  void resumingCutsTheLogBackToWhatTheCheckpointCovered(@TempDir Path dir) throws IOException {
    var file = dir.resolve("applied.txt");
    var log = AppliedIdLog.create(file);
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

    var resumed = AppliedIdLog.resume(file, bytes, count);
    assertThat(AppliedIdLog.read(file, Files.size(file), 2)).containsExactly("r:0:0:0", "r:0:1:0");
    // update 2 is applied again after the restart: its ids appear once
    resumed.add("r:1:0:0");
    resumed.add("r:1:1:0");
    assertThat(resumed.count()).isEqualTo(4);
    resumed.flush();
    assertThat(AppliedIdLog.read(file, resumed.bytes(), resumed.durableCount()))
        .containsExactly("r:0:0:0", "r:0:1:0", "r:1:0:0", "r:1:1:0");
  }

  @Test
  void aLogShorterThanItsCheckpointIsAnErrorNotASilentGap(@TempDir Path dir) throws IOException {
    var file = dir.resolve("applied.txt");
    var log = AppliedIdLog.create(file);
    log.add("r:0:0:0");
    log.flush();
    Files.write(file, new byte[0]);
    assertThatThrownBy(() -> AppliedIdLog.resume(file, log.bytes(), log.durableCount()))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("shorter than the 8 bytes");
  }

  @Test
  void aCountThatDisagreesWithTheCheckpointIsAnError(@TempDir Path dir) throws IOException {
    var file = dir.resolve("applied.txt");
    var log = AppliedIdLog.create(file);
    log.add("r:0:0:0");
    log.flush();
    assertThatThrownBy(() -> AppliedIdLog.read(file, log.bytes(), 2))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("holds 1 ids where its checkpoint counts 2");
  }

  @Test
  void aNewRunStartsAnEmptyLog(@TempDir Path dir) throws IOException {
    var file = dir.resolve("applied.txt");
    Files.writeString(file, "old:0:0:0\n");
    var log = AppliedIdLog.create(file);
    assertThat(log.count()).isZero();
    assertThat(Files.size(file)).isZero();
  }
}
