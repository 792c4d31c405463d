package io.streamrlhf.infra.affinity;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A set of CPUs in the list syntax of taskset and {@code /proc/PID/status}'s {@code
 * Cpus_allowed_list} ({@code 0}, {@code 0-1}, {@code 0,2}, {@code 0-6:2}), and what Linux says
 * about the CPUs a process and each of its threads may run on.
 */
public record CpuSet(BitSet cpus) {
  private static final Pattern ITEM = Pattern.compile("(\\d+)(?:-(\\d+)(?::(\\d+))?)?");
  private static final String ALLOWED = "Cpus_allowed_list:";

  public CpuSet {
    cpus = (BitSet) cpus.clone();
  }

  /**
   * Parses a CPU list.
   *
   * @throws IllegalArgumentException naming what is wrong with {@code list}
   */
  public static CpuSet parse(String list) {
    var cpus = new BitSet();
    var trimmed = list.strip();
    if (trimmed.isEmpty()) throw new IllegalArgumentException("an empty CPU list");
    for (var item : trimmed.split(",", -1)) {
      var m = ITEM.matcher(item.strip());
      if (!m.matches())
        throw new IllegalArgumentException(
            "'" + item + "' is not a CPU number or range (write e.g. 0, 0-1, 0,2)");
      try {
        int from = Integer.parseInt(m.group(1));
        int to = m.group(2) == null ? from : Integer.parseInt(m.group(2));
        int stride = m.group(3) == null ? 1 : Integer.parseInt(m.group(3));
        if (to < from || stride < 1)
          throw new IllegalArgumentException("'" + item + "' is an empty range");
        for (int c = from; c <= to; c += stride) cpus.set(c);
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("'" + item + "' names a CPU number out of range");
      }
    }
    return new CpuSet(cpus);
  }

  /** The CPUs this process may run on now (its own affinity, e.g. a container's cpuset). */
  public static CpuSet allowed() {
    return ofStatus(Path.of("/proc/self/status"));
  }

  /** The affinity of every thread of process {@code pid}, read from {@code /proc}. */
  public static List<CpuSet> threadsOf(long pid) {
    var threads = new ArrayList<CpuSet>();
    try (Stream<Path> tasks = Files.list(Path.of("/proc", Long.toString(pid), "task"))) {
      for (var task : tasks.toList()) {
        try {
          threads.add(ofStatus(task.resolve("status")));
        } catch (UncheckedIOException gone) {
          // the thread ended while we listed them
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot list the threads of process " + pid, e);
    }
    return threads;
  }

  private static CpuSet ofStatus(Path status) {
    try {
      for (var line : Files.readAllLines(status)) {
        if (line.startsWith(ALLOWED)) return parse(line.substring(ALLOWED.length()));
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + status, e);
    }
    throw new IllegalStateException(status + " has no " + ALLOWED + " line (not Linux?)");
  }

  public int size() {
    return cpus.cardinality();
  }

  public boolean within(CpuSet other) {
    var outside = (BitSet) cpus.clone();
    outside.andNot(other.cpus);
    return outside.isEmpty();
  }

  /** The list syntax, ranges folded: {@code 0-2,5}. */
  @Override
  public String toString() {
    var parts = new ArrayList<String>();
    for (int c = cpus.nextSetBit(0); c >= 0; ) {
      int end = cpus.nextClearBit(c) - 1;
      parts.add(end == c ? Integer.toString(c) : c + "-" + end);
      c = cpus.nextSetBit(end + 1);
    }
    return String.join(",", parts);
  }

  @Override
  public BitSet cpus() {
    return (BitSet) cpus.clone();
  }
}
