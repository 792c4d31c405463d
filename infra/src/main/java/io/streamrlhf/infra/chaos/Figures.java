package io.streamrlhf.infra.chaos;

import com.fasterxml.jackson.annotation.JsonInclude;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * What one scenario measured, and whether the loop kept its guarantees under it: PASS only when
 * every check held, else FAIL with the reasons. Printed as a table row ({@link #printTable}) and
 * written as JSON.
 *
 * @param faults what was injected, by kind, and how often
 * @param prompts the exactly-once account of the learner's applied rollouts (null when no
 *     checkpoint was left to read)
 * @param longestRolloutGapSeconds the longest time between two rollouts reaching the broker while
 *     the loop ran (null: fewer than two rollouts)
 * @param recoverySeconds the longest time from the end of a fault to the learner's next update
 *     (null where the scenario has no such fault)
 * @param rssSlopeMbPerHour the steepest growth of the loop's processes' anonymous resident memory
 *     (soak only)
 * @param weightsMaxDifference the largest parameter difference between the final policy and an
 *     uninterrupted in-process run's on the same seed (null where the scenario does not allow the
 *     comparison: more than one actor, or max_lag above 0)
 * @param weightsEqual whether that difference is within float tolerance
 * @param unplannedRestarts processes the supervisor restarted because they exited by themselves
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record Figures(
    String scenario,
    boolean passed,
    List<String> failures,
    Map<String, Long> faults,
    PromptAccount prompts,
    Double longestRolloutGapSeconds,
    Double recoverySeconds,
    Double rssSlopeMbPerHour,
    Double weightsMaxDifference,
    Boolean weightsEqual,
    int unplannedRestarts,
    double seconds,
    List<String> notes) {

  /** The figures of a scenario as it runs: checks that failed, faults, measurements, notes. */
  public static final class Builder {
    private final String scenario;
    private final long started = System.nanoTime();
    private final List<String> failures = new ArrayList<>();
    private final Map<String, Long> faults = new TreeMap<>();
    private final List<String> notes = new ArrayList<>();
    private PromptAccount prompts;
    private Double gap;
    private Double recovery;
    private Double rssSlope;
    private Double weightsDifference;
    private Boolean weightsEqual;
    private int restarts;

    public Builder(String scenario) {
      this.scenario = scenario;
    }

    public Builder fault(String kind) {
      return faults(kind, 1);
    }

    public Builder faults(String kind, long count) {
      if (count > 0) faults.merge(kind, count, Long::sum);
      return this;
    }

    /** Records {@code reason} as a failure unless {@code held}. */
    public Builder check(boolean held, String reason) {
      if (!held) failures.add(reason);
      return this;
    }

    public Builder fail(String reason) {
      failures.add(reason);
      return this;
    }

    public Builder note(String note) {
      notes.add(note);
      return this;
    }

    public Builder prompts(PromptAccount account) {
      this.prompts = account;
      return this;
    }

    public Builder rolloutGap(Double seconds) {
      this.gap = seconds;
      return this;
    }

    /** Keeps the longest recovery seen. */
    public Builder recovery(double seconds) {
      this.recovery = recovery == null ? seconds : Math.max(recovery, seconds);
      return this;
    }

    public Builder rssSlope(double mbPerHour) {
      this.rssSlope = mbPerHour;
      return this;
    }

    public Builder weights(double maxDifference, boolean equal) {
      this.weightsDifference = maxDifference;
      this.weightsEqual = equal;
      return this;
    }

    public Builder restarts(int unplanned) {
      this.restarts = unplanned;
      return this;
    }

    public boolean failed() {
      return !failures.isEmpty();
    }

    public Figures build() {
      return new Figures(
          scenario,
          failures.isEmpty(),
          List.copyOf(failures),
          Map.copyOf(faults),
          prompts,
          gap,
          recovery,
          rssSlope,
          weightsDifference,
          weightsEqual,
          restarts,
          (System.nanoTime() - started) / 1e9,
          List.copyOf(notes));
    }
  }

  /** The faults as {@code kind×n, ...}, sorted by kind. */
  public String faultSummary() {
    if (faults.isEmpty()) return "none";
    var parts = new ArrayList<String>();
    new TreeMap<>(faults).forEach((k, n) -> parts.add(k + "×" + n));
    return String.join(", ", parts);
  }

  private static final String ROW = "%-15s %-6s %7s %12s %5s %5s %10s %10s %10s %14s %8s %7s%n";

  /**
   * The closing table: one row per scenario, then each scenario's faults, failures and notes.
   * Columns: trained = expected prompts trained on exactly once; dup = prompts with a sample
   * applied twice; lost = prompts with a sample never applied; gap = longest time with no rollouts;
   * recovery = longest time from a fault's end to the next update; anon MB/h = the steepest growth
   * of a process's anonymous resident memory (soak).
   */
  public static void printTable(List<Figures> all, PrintWriter out) {
    out.printf(
        ROW,
        "scenario",
        "result",
        "faults",
        "trained",
        "dup",
        "lost",
        "gap s",
        "recovery s",
        "anon MB/h",
        "weights=base",
        "restarts",
        "time s");
    for (var f : all) {
      var p = f.prompts();
      out.printf(
          ROW,
          f.scenario(),
          f.passed() ? "PASS" : "FAIL",
          f.faults().values().stream().mapToLong(Long::longValue).sum(),
          p == null ? "-" : p.promptsTrained() + "/" + p.promptsExpected(),
          p == null ? "-" : Long.toString(p.promptsDuplicated()),
          p == null ? "-" : Long.toString(p.promptsLost()),
          number(f.longestRolloutGapSeconds(), "%.1f"),
          number(f.recoverySeconds(), "%.1f"),
          number(f.rssSlopeMbPerHour(), "%+.1f"),
          f.weightsEqual() == null
              ? "n/a"
              : (f.weightsEqual() ? "yes" : "NO")
                  + String.format(Locale.ROOT, " (%.0e)", f.weightsMaxDifference()),
          f.unplannedRestarts(),
          String.format(Locale.ROOT, "%.0f", f.seconds()));
    }
    for (var f : all) {
      out.printf("%s: faults: %s%n", f.scenario(), f.faultSummary());
      if (f.prompts() != null
          && (f.prompts().rolloutsExtra() > 0 || f.prompts().rolloutsDuplicated() > 0))
        out.printf(
            "  rollouts applied %d, applied twice %d, outside the expected prompts %d%n",
            f.prompts().rolloutsApplied(),
            f.prompts().rolloutsDuplicated(),
            f.prompts().rolloutsExtra());
      f.failures().forEach(r -> out.printf("  FAIL: %s%n", r));
      f.notes().forEach(n -> out.printf("  note: %s%n", n));
    }
    out.flush();
  }

  private static String number(Double value, String format) {
    return value == null || value.isNaN() ? "-" : String.format(Locale.ROOT, format, value);
  }
}
