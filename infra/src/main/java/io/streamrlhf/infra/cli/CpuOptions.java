package io.streamrlhf.infra.cli;

import io.streamrlhf.infra.affinity.CpuPinning;
import io.streamrlhf.infra.affinity.CpuSet;
import picocli.CommandLine.Option;

/**
 * {@code --cpus LIST} (a picocli mixin): pins the process to a CPU set ({@link CpuPinning}), so
 * that processes on one machine each behave like a machine of their own.
 */
final class CpuOptions {
  @Option(
      names = "--cpus",
      paramLabel = "LIST",
      description =
          "Pin this process to these CPUs, as taskset spells them (0, 1, 0-1, 0,2): every thread,"
              + " Java and native (PyTorch, OpenMP), runs only there, and PyTorch uses one intra-op"
              + " thread per CPU of the set. Needs taskset (util-linux). Default: not pinned, every"
              + " CPU the process is allowed.")
  String cpus;

  /**
   * Pins the process when --cpus was given; call before anything loads the engine.
   *
   * @throws UserError for a malformed list, CPUs outside the machine's allowed set, or no taskset
   */
  void pin() {
    if (cpus == null) return;
    CpuSet set;
    try {
      set = CpuSet.parse(cpus);
    } catch (IllegalArgumentException e) {
      throw new UserError("--cpus " + cpus + ": " + e.getMessage());
    }
    try {
      CpuPinning.pin(set);
    } catch (IllegalArgumentException | UnsupportedOperationException e) {
      throw new UserError("--cpus " + cpus + ": " + e.getMessage());
    }
  }

  /**
   * A CPU list for a child process's --cpus ({@code flag} names it here), refused before anything
   * starts when the child would refuse it; null (not pinned) passes.
   */
  static CpuSet check(String flag, String list) {
    if (list == null) return null;
    try {
      var set = CpuSet.parse(list);
      var allowed = CpuSet.allowed();
      if (!set.within(allowed))
        throw new UserError(
            flag + " " + list + ": not within the CPUs this machine allows (" + allowed + ")");
      return set;
    } catch (IllegalArgumentException e) {
      throw new UserError(flag + " " + list + ": " + e.getMessage());
    }
  }
}
