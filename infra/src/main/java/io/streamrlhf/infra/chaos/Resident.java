package io.streamrlhf.infra.chaos;

import java.util.List;

/**
 * A process's resident set as {@code /proc/PID/status} splits it, in kB: anonymous memory (heap,
 * native allocations, thread stacks: where a leak shows), and file-backed pages (jars, native
 * libraries, a Kafka broker's memory-mapped segment indexes: mapped files, which the kernel can
 * reclaim under pressure). {@code total} is VmRSS, the two plus shared memory.
 */
public record Resident(long totalKb, long anonKb, long fileKb) {

  /** The figures of a status file's lines; fields missing from it (an old kernel) read as -1. */
  public static Resident parse(List<String> statusLines) {
    long total = -1, anon = -1, file = -1;
    for (var line : statusLines) {
      if (line.startsWith("VmRSS:")) total = kb(line);
      else if (line.startsWith("RssAnon:")) anon = kb(line);
      else if (line.startsWith("RssFile:")) file = kb(line);
    }
    return new Resident(total, anon, file);
  }

  private static long kb(String line) {
    return Long.parseLong(line.replaceAll("[^0-9]", ""));
  }
}
