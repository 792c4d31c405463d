package io.streamrlhf.infra.stream;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SwapLogTest {

  @Test
  void aResumeAppendsAfterALineAKillLeftUnendedAndAFreshRunStartsOver(@TempDir Path dir)
      throws Exception {
    Files.writeString(dir.resolve(SwapLog.FILE), "12\n34");
    try (var log = new SwapLog(dir, true)) {
      log.add(5);
    }
    assertThat(SwapLog.read(dir)).containsExactly(12, 34, 5);

    try (var log = new SwapLog(dir, false)) {
      log.add(7);
      log.close();
      log.add(8); // an actor's late event after the run: dropped
    }
    assertThat(SwapLog.read(dir)).containsExactly(7);
  }
}
