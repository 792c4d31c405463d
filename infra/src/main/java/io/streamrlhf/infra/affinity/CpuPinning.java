package io.streamrlhf.infra.affinity;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;

/**
 * Pins this whole process to a CPU set, so that one process on core 0 and another on core 1 behave
 * like two one-core machines: every thread the JVM has now is moved to the set ({@code taskset -a
 * -p}, util-linux), and every thread started later, Java or native (PyTorch's intra- and inter-op
 * pools, OpenMP's), inherits its creator's mask. PyTorch's thread pools are sized to the set, which
 * only works before DJL starts the engine: call {@link #pin} first thing in a command.
 */
public final class CpuPinning {
  /** Threads may start while taskset walks them (JIT, GC): walk again until none is left out. */
  private static final int ROUNDS = 5;

  private CpuPinning() {}

  /**
   * Pins this process to {@code set}.
   *
   * @throws IllegalArgumentException when {@code set} is not within the CPUs this process may use
   * @throws UnsupportedOperationException when taskset is missing
   * @throws IllegalStateException when taskset fails
   */
  public static void pin(CpuSet set) {
    var allowed = CpuSet.allowed();
    if (!set.within(allowed))
      throw new IllegalArgumentException(
          "CPU set " + set + " is not within the CPUs this machine allows (" + allowed + ")");
    // read by DJL when the engine starts; one intra-op thread per CPU of the set, one inter-op
    System.setProperty("ai.djl.pytorch.num_threads", Integer.toString(set.size()));
    System.setProperty("ai.djl.pytorch.num_interop_threads", "1");
    long pid = ProcessHandle.current().pid();
    for (int round = 0; round < ROUNDS; round++) {
      taskset(set, pid);
      if (CpuSet.threadsOf(pid).stream().allMatch(set::equals)) return;
    }
    throw new IllegalStateException(
        "threads of this process kept escaping CPU set " + set + " after " + ROUNDS + " rounds");
  }

  private static void taskset(CpuSet set, long pid) {
    Process p;
    try {
      p =
          new ProcessBuilder("taskset", "-a", "-c", "-p", set.toString(), Long.toString(pid))
              .redirectErrorStream(true)
              .start();
    } catch (IOException e) {
      throw new UnsupportedOperationException(
          "pinning needs taskset (util-linux) on the PATH: " + e.getMessage(), e);
    }
    try {
      var output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0)
        throw new IllegalStateException(
            "taskset -a -c -p " + set + " " + pid + " failed: " + output.strip());
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read taskset's output", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while pinning to CPU set " + set, e);
    }
  }
}
