package io.streamrlhf.infra.chaos;

import java.io.PrintWriter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;

/**
 * Every line the processes of one scenario printed, in arrival order, each with its source and the
 * moment it arrived: what a scenario waits on (with a deadline) and reads its timings from. Lines
 * are echoed to the chaos log as {@code source | line}.
 */
public final class Transcript {
  /**
   * One printed line: who printed it, when it arrived ({@link System#nanoTime}, and the wall clock
   * then in epoch millis, comparable with the timestamps the processes write), and the text.
   */
  public record Line(String source, long nanos, long millis, String text) {
    boolean from(String prefix) {
      return source.equals(prefix) || source.startsWith(prefix + "#");
    }
  }

  private final List<Line> lines = new ArrayList<>();
  private final PrintWriter echo;
  private final String harness;

  public Transcript(PrintWriter echo) {
    this(echo, "chaos");
  }

  /**
   * @param harness the source of the harness's own lines (its notes, the children it started)
   */
  public Transcript(PrintWriter echo, String harness) {
    this.echo = echo;
    this.harness = harness;
  }

  String harness() {
    return harness;
  }

  void add(String source, String text) {
    var line = new Line(source, System.nanoTime(), System.currentTimeMillis(), text);
    synchronized (this) {
      lines.add(line);
      notifyAll();
    }
    synchronized (echo) {
      echo.println(source + " | " + text);
      echo.flush();
    }
  }

  /** A note of the harness itself (what it injected, when), kept with the processes' lines. */
  public void note(String text) {
    add(harness, text);
  }

  public synchronized List<Line> lines() {
    return List.copyOf(lines);
  }

  /** How many lines so far: a position to wait from. */
  public synchronized int size() {
    return lines.size();
  }

  /** The first line from index {@code from} on that matches, if any. */
  public synchronized Line find(int from, Predicate<Line> match) {
    for (int i = from; i < lines.size(); i++) if (match.test(lines.get(i))) return lines.get(i);
    return null;
  }

  /** The last line that matches, if any. */
  public synchronized Line findLast(Predicate<Line> match) {
    for (int i = lines.size() - 1; i >= 0; i--) if (match.test(lines.get(i))) return lines.get(i);
    return null;
  }

  /**
   * Waits until a line from index {@code from} on matches, at most {@code step}; returns it, or
   * null when none arrived in that time (the caller checks its processes and its deadline).
   */
  synchronized Line awaitStep(int from, Predicate<Line> match, Duration step)
      throws InterruptedException {
    long until = System.nanoTime() + step.toNanos();
    while (true) {
      var found = find(from, match);
      if (found != null) return found;
      long left = until - System.nanoTime();
      if (left <= 0) return null;
      wait(Math.max(1, left / 1_000_000));
    }
  }

  /**
   * The last {@code n} lines of {@code source}, for a failure message; stack frames are left out,
   * so an exception shows as its own line.
   */
  public synchronized String tail(String source, int n) {
    var mine =
        lines.stream()
            .filter(l -> l.from(source))
            .map(Line::text)
            .filter(t -> !t.strip().startsWith("at ") && !t.strip().startsWith("..."))
            .toList();
    return String.join(" / ", mine.subList(Math.max(0, mine.size() - n), mine.size()));
  }
}
