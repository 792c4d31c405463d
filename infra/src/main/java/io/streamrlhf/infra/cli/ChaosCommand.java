package io.streamrlhf.infra.cli;

import io.streamrlhf.infra.chaos.ChaosRun;
import io.streamrlhf.infra.chaos.ChaosSettings;
import io.streamrlhf.infra.chaos.Figures;
import io.streamrlhf.infra.chaos.Scenario;
import io.streamrlhf.infra.chaos.Scenarios;
import io.streamrlhf.infra.exit.ExitHooks;
import io.streamrlhf.model.checkpoint.Json;
import io.streamrlhf.schemas.transport.Durations;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code rlhf chaos}: the fault suite, run against real processes, with its figures. */
@Command(
    name = "chaos",
    mixinStandardHelpOptions = true,
    showDefaultValues = true,
    // picocli's own synopsis shows --out as optional: a run needs it, --list does not
    synopsisHeading = "",
    customSynopsis = {
      "Usage: rlhf chaos (--scenario=NAME... | --fast | --all) --out=DIR [OPTION...]",
      "   or: rlhf chaos --list"
    },
    description = {
      "Runs fault scenarios against the streaming loop as real processes on loopback (rlhf broker,"
          + " rlhf actor, rlhf learner, each a child JVM), on tiny models it writes in seconds (or --sft/--rm),"
          + " and prints each scenario's figures: faults injected; prompts trained on exactly once, duplicated,"
          + " lost (from the learner's checkpoint); the longest time with no rollouts; recovery time; RSS slope of anonymous memory"
          + " (soak); whether the final weights equal an uninterrupted run's (one actor, max_lag 0).",
      "A scenario passes only when the loop kept its guarantees under it; --list says what each promises."
          + " Writes figures.json and chaos.log (every process's output) into --out.",
      "Exit code 0 when every scenario passed, 1 when one failed."
    })
final class ChaosCommand implements Callable<Integer> {
  /** The longest duration a flag takes: past it a run's deadline would overflow a clock. */
  private static final Duration MAX_DURATION = Duration.ofDays(7);

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Option(
      names = "--scenario",
      paramLabel = "NAME",
      description = "A scenario to run (repeatable); --list names them.")
  List<String> scenarios = new ArrayList<>();

  @Option(
      names = "--all",
      description =
          "Run every scenario, the long ones too (about 40 minutes, 30 of them the soak).")
  boolean all;

  @Option(
      names = "--fast",
      description =
          "Run the fast scenarios (mvn verify runs them, and a 5-second broker outage besides).")
  boolean fast;

  @Option(names = "--list", description = "List the scenarios and exit.")
  boolean list;

  @Option(
      names = "--out",
      paramLabel = "DIR",
      description =
          "Where each scenario's processes keep their data, figures.json and chaos.log; required,"
              + " except with --list.")
  Path out;

  @Option(
      names = "--seed",
      paramLabel = "N",
      defaultValue = "7",
      description = "Seeds the loop and the fault points.")
  long seed;

  @Option(
      names = "--outage",
      paramLabel = "DURATION",
      defaultValue = "PT60S",
      description = "How long broker-outage keeps the broker down (ISO-8601).")
  Duration outage;

  @Option(
      names = "--soak",
      paramLabel = "DURATION",
      defaultValue = "PT30M",
      description = "How long soak runs (ISO-8601).")
  Duration soak;

  @Option(
      names = "--sample-every",
      paramLabel = "DURATION",
      defaultValue = "PT10S",
      description = "The soak's RSS sampling period (ISO-8601).")
  Duration sampleEvery;

  @Option(
      names = "--poison-rate",
      paramLabel = "SHARE",
      defaultValue = "0.01",
      description =
          "Share of invalid records, and again of undecodable ones, poison adds per topic (at least one each).")
  double poisonRate;

  @Option(
      names = "--max-rss-slope",
      defaultValue = "20",
      paramLabel = "MB_PER_HOUR",
      description =
          "soak fails when a process's anonymous resident memory (heap and native allocations, where"
              + " a leak shows) grows faster than this after the warm-up; the file-backed part (mapped"
              + " jars, the broker's memory-mapped indexes) is reported beside it.")
  double maxRssSlope;

  @Option(
      names = "--recovery-bound",
      paramLabel = "DURATION",
      defaultValue = "PT20S",
      description = "actor-kill fails when the learner goes longer than this without an update.")
  Duration recoveryBound;

  @Option(
      names = "--child-heap",
      paramLabel = "SIZE",
      defaultValue = "768m",
      description = "-Xmx of every child JVM (broker, actors, learners).")
  String childHeap;

  @Option(
      names = "--bound",
      paramLabel = "DURATION",
      defaultValue = "PT20M",
      description = "The longest one scenario may take (the soak gets its length on top).")
  Duration bound;

  @Option(
      names = "--sft",
      paramLabel = "DIR",
      description = "SFT checkpoint (default: a tiny one).")
  Path sft;

  @Option(
      names = "--rm",
      paramLabel = "DIR",
      description = "Reward-model checkpoint to go with --sft (default: a tiny one).")
  Path rm;

  @Option(names = "--verbose", description = "Print every process's output here too.")
  boolean verbose;

  @Override
  public Integer call() throws IOException {
    var stdout = spec.commandLine().getOut();
    if (list) {
      GivenFlags.refuse(
          spec,
          "--list only names the scenarios",
          spec.options().stream()
              .map(o -> o.longestName())
              .filter(n -> !n.equals("--list"))
              .toArray(String[]::new));
      for (var s : Scenarios.all())
        stdout.printf("%-15s %-5s %s%n", s.name(), s.fast() ? "fast" : "long", s.description());
      stdout.flush();
      return 0;
    }
    var selected = select();
    if (out == null)
      throw new UserError("--out DIR is needed: where the scenarios keep their data");
    StageOptions.requireNotAFile("--out", out);
    requireChaosOutput(out);
    for (var d : List.of(outage, soak, sampleEvery, recoveryBound, bound))
      if (d.isNegative() || d.isZero() || d.compareTo(MAX_DURATION) > 0)
        throw new UserError(
            "durations must be positive and at most "
                + MAX_DURATION.toDays()
                + " days, got "
                + Durations.readable(d));
    if (!(maxRssSlope > 0 && Double.isFinite(maxRssSlope)))
      throw new UserError("--max-rss-slope must be a number of MB/h above 0, got " + maxRssSlope);
    // the slope is fitted to the samples after the warm-up (the first fifth): at least two
    if (selected.stream().anyMatch(s -> s.name().equals("soak"))
        && soak.compareTo(sampleEvery.multipliedBy(3)) < 0)
      throw new UserError(
          "--soak "
              + Durations.readable(soak)
              + " leaves too few RSS samples every "
              + Durations.readable(sampleEvery)
              + " for a slope after the warm-up: give a --soak at least 3 x --sample-every");
    HeapSize.require("--child-heap", childHeap);
    if (!(poisonRate > 0 && poisonRate <= 1))
      throw new UserError("--poison-rate must be in (0, 1], got " + poisonRate);
    if ((sft == null) != (rm == null))
      throw new UserError("--sft and --rm go together (or neither, for the tiny models)");
    if (sft != null) {
      StageOptions.requireCheckpoint("--sft", sft, "sft");
      StageOptions.requireCheckpoint("--rm", rm, StageOptions.REWARD_MODELS);
      // every learner and actor would refuse it, and the scenario fail after their restarts
      StageOptions.requireRewardModelOf(rm, sft);
      LoopOptions.requireRewardStatistics(rm);
    }
    StageOptions.requireWritable(out);
    // chaos's own clients (taps, poison, interposer) see the broker go away by design: say nothing
    ((ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger("org.apache.kafka"))
        .setLevel(ch.qos.logback.classic.Level.ERROR);
    var settings =
        new ChaosSettings(
            seed,
            outage,
            soak,
            sampleEvery,
            poisonRate,
            maxRssSlope,
            recoveryBound,
            childHeap,
            bound.plus(
                selected.stream().anyMatch(s -> s.name().equals("soak")) ? soak : Duration.ZERO),
            sft == null ? null : sft.toAbsolutePath(),
            rm == null ? null : rm.toAbsolutePath());
    var logFile = out.resolve("chaos.log");
    // an earlier run's figures would stand beside this run's log until its first scenario ends,
    // and for good if it is interrupted
    Files.deleteIfExists(out.resolve("figures.json"));
    try (var file = Files.newBufferedWriter(logFile, StandardCharsets.UTF_8);
        var log = new PrintWriter(verbose ? tee(file, stdout) : file, true)) {
      var chaos = new ChaosRun(settings, out.toAbsolutePath(), log);
      var figures = new java.util.concurrent.CopyOnWriteArrayList<Figures>();
      var running = new java.util.concurrent.atomic.AtomicReference<String>();
      // a signal ends the run between the lines above: say where, and what was kept
      var onStop =
          new Thread(
              () -> {
                stdout.printf(
                    "chaos: stopped by a signal during %s (its processes stop with it); %s%n",
                    running.get(),
                    figures.isEmpty()
                        ? "no scenario ended"
                        : "the figures of the "
                            + figures.size()
                            + " that ended are in "
                            + out.resolve("figures.json"));
                stdout.flush();
              },
              "rlhf-chaos-stop");
      Runtime.getRuntime().addShutdownHook(onStop);
      try {
        for (var scenario : selected) {
          running.set(scenario.name()); // before the line: a signal after it names the scenario
          stdout.printf("chaos: %s: %s%n", scenario.name(), scenario.description());
          stdout.flush();
          var f = scenario.run(chaos);
          figures.add(f);
          Json.writeAtomically(figures, out.resolve("figures.json"));
          stdout.printf(
              "chaos: %s %s in %.0f s%s%n",
              scenario.name(),
              f.passed() ? "PASS" : "FAIL",
              f.seconds(),
              f.passed() ? "" : ": " + String.join("; ", f.failures()));
          stdout.flush();
        }
      } finally {
        ExitHooks.remove(onStop);
      }
      stdout.println();
      Figures.printTable(figures, stdout);
      stdout.printf(
          "figures in %s, every process's output in %s%n", out.resolve("figures.json"), logFile);
      stdout.flush();
      return figures.stream().allMatch(Figures::passed) ? 0 : 1;
    }
  }

  private List<Scenario> select() {
    int ways = (all ? 1 : 0) + (fast ? 1 : 0) + (scenarios.isEmpty() ? 0 : 1);
    if (ways == 0)
      throw new UserError(
          "say which scenarios: --scenario NAME, --fast or --all (--list names them)");
    if (ways > 1)
      throw new UserError(
          "--scenario, --fast and --all each choose the scenarios: give only one of them");
    if (all) return Scenarios.all();
    if (fast) return Scenarios.all().stream().filter(Scenario::fast).toList();
    var chosen = new ArrayList<Scenario>();
    for (var name : scenarios) {
      if (scenarios.indexOf(name) != scenarios.lastIndexOf(name))
        throw new UserError("--scenario " + name + " is given twice: each scenario runs once");
      chosen.add(
          Scenarios.byName(name)
              .orElseThrow(
                  () -> new UserError("no scenario called '" + name + "'; --list names them")));
    }
    return chosen;
  }

  /** A writer to both the log file and the terminal. */
  private static Writer tee(Writer file, PrintWriter terminal) {
    return new Writer() {
      @Override
      public void write(char[] buf, int off, int len) throws IOException {
        file.write(buf, off, len);
        terminal.write(buf, off, len);
      }

      @Override
      public void flush() throws IOException {
        file.flush();
        terminal.flush();
      }

      @Override
      public void close() throws IOException {
        file.close();
      }
    };
  }

  /**
   * Each scenario starts by deleting its own directory under --out, and the run its figures.json:
   * only a new or empty directory, or an earlier chaos run's (its chaos.log), may be --out, and
   * none inside a checkpoint.
   */
  private static void requireChaosOutput(Path out) throws IOException {
    TaskFiles.requireOutsideCheckpoints("--out", out, out.toAbsolutePath().normalize());
    if (!Files.isDirectory(out) || Files.exists(out.resolve("chaos.log"))) return;
    try (var entries = Files.list(out)) {
      if (entries.findAny().isPresent())
        throw new UserError(
            "--out "
                + out
                + " holds files that are not a chaos run's (no chaos.log), and each scenario"
                + " deletes its own directory there: give an empty or new directory");
    }
  }
}
