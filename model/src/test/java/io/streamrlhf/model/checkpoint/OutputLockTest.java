package io.streamrlhf.model.checkpoint;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A second lock of a directory in the same process is refused without touching the lock file: Linux
 * drops a process's lock on a file when any of its channels on that file closes, so a refusal that
 * opened and closed the file would leave the first holder unprotected against other processes.
 */
class OutputLockTest {
  @Test
  void aSecondLockInThisProcessIsRefusedAndTheFirstStaysHeld(@TempDir Path dir) throws Exception {
    var locks = Path.of("/proc/locks");
    Assumptions.assumeTrue(Files.isReadable(locks), "needs Linux's /proc/locks");
    try (var first = OutputLock.acquire(dir)) {
      var file = dir.resolve(OutputLock.FILE);
      assertThatThrownBy(() -> OutputLock.acquire(dir))
          .isInstanceOf(OutputLock.HeldException.class)
          .hasMessageEndingWith(" is locked by this process");
      assertThatThrownBy(
              () -> OutputLock.acquire(dir.resolve(".").resolve("..").resolve(dir.getFileName())))
          .as("the same directory by another path")
          .isInstanceOf(OutputLock.HeldException.class);
      // the kernel's own table: a POSIX lock by this process on the lock file's inode
      long inode = (Long) Files.getAttribute(file, "unix:ino");
      long pid = ProcessHandle.current().pid();
      assertThat(Files.readAllLines(locks))
          .anyMatch(
              l ->
                  l.contains("POSIX")
                      && l.contains(" " + pid + " ")
                      && l.contains(":" + inode + " "));
    }
    try (var again = OutputLock.acquire(dir)) {
      assertThat(Files.readString(dir.resolve(OutputLock.FILE)).strip())
          .isEqualTo(Long.toString(ProcessHandle.current().pid()));
    }
  }
}
