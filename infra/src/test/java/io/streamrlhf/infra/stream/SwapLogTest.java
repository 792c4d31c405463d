package io.streamrlhf.infra.stream;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SwapLogTest {

  @Test
  void aResumeAppendsAfterALineAKillLeftUnendedAndAFreshRunStartsOver(@TempDir Path dir)
      throws Exception {
    Files.writeString(dir.resolve(SwapLog.FILE), "12\n34");
    try (var log = new SwapLog(dir, true, new PrintWriter(Writer.nullWriter()))) {
      log.add(5);
    }
    assertThat(SwapLog.read(dir)).containsExactly(12, 34, 5);

    try (var log = new SwapLog(dir, false, new PrintWriter(Writer.nullWriter()))) {
      log.add(7);
      log.close();
      log.add(8); // an actor's late event after the run: dropped
    }
    assertThat(SwapLog.read(dir)).containsExactly(7);
  }

  @Test
  void aFullDiskIsSaidOnceAndTheRunGoesOn(@TempDir Path dir) throws Exception {
    Assumptions.assumeTrue(Files.isWritable(Path.of("/dev/full")), "needs Linux's /dev/full");
    Files.createSymbolicLink(dir.resolve(SwapLog.FILE), Path.of("/dev/full"));
    var said = new StringWriter();
    try (var log = new SwapLog(dir, false, new PrintWriter(said))) {
      log.add(5);
      log.add(6);
    }
    assertThat(said.toString())
        .isEqualTo(
            "ppo: cannot write "
                + dir.resolve(SwapLog.FILE)
                + ": No space left on device; the publish-to-apply times of later swaps are not"
                + " recorded"
                + System.lineSeparator());
  }
}
