package io.streamrlhf.infra.chaos;

import io.streamrlhf.learner.config.PpoConfig;
import java.time.Duration;
import java.util.List;

/**
 * The shape most scenarios share: open a loop ({@link LoopRun}: broker, actors), let the scenario
 * start its learner and inject its faults, stop every process, then take the figures from what the
 * run left. A scenario that cannot go on (a {@link ScenarioFailure}, or any error of its own) is a
 * FAIL with the reason, and its figures are still taken.
 */
abstract class LoopScenario implements Scenario {
  /** The config of the loop: {@link TinyModels#config} with the scenario's updates and lag. */
  abstract PpoConfig config(ChaosSettings settings);

  /** How many actors the loop starts with. */
  abstract int actors();

  /** Starts the learner, injects the faults, waits for the run to end. */
  abstract void inject(LoopRun run) throws Exception;

  /**
   * How long the learner may go without an update before the run counts as stalled: a tiny update
   * takes about a second, so a minute is a stall on any machine, not slowness.
   */
  Duration stallBound(ChaosSettings settings) {
    return Duration.ofSeconds(60);
  }

  /** JVM flags for every process of the loop beyond the usual ones. */
  List<String> jvmFlags(ChaosSettings settings) {
    return List.of();
  }

  /** Whether a process exiting by itself (and restarted by the supervisor) is tolerated. */
  boolean toleratesUnplannedRestarts() {
    return false;
  }

  /** The batches whose prompts must all be trained on: all of them, for a run that finishes. */
  long expectedBatches(LoopRun run) {
    return run.config().updates();
  }

  /** Checks of the scenario's own, after the processes stopped and the account was taken. */
  void conclude(LoopRun run) throws Exception {}

  @Override
  public final Figures run(ChaosRun chaos) {
    var figures = new Figures.Builder(name());
    LoopRun run = null;
    try {
      run =
          LoopRun.open(
              chaos,
              figures,
              name(),
              config(chaos.settings()),
              actors(),
              stallBound(chaos.settings()),
              jvmFlags(chaos.settings()));
      inject(run);
    } catch (ScenarioFailure e) {
      // a wait that had only the bound's last seconds says "within 0 s": name the bound that ended
      // it
      boolean boundRanOut = run != null && run.remaining().isZero();
      figures.fail(
          boundRanOut
              ? e.getMessage()
                  + " (the scenario's time bound, "
                  + chaos.settings().bound().toSeconds()
                  + " s, ran out: see --bound)"
              : e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      figures.fail("interrupted");
    } catch (Exception | Error e) {
      figures.fail("chaos itself failed: " + e);
      e.printStackTrace(chaos.log());
    } finally {
      if (run != null) run.close();
    }
    if (run == null) return figures.build();
    try {
      run.conclude(expectedBatches(run));
      conclude(run);
    } catch (Exception | Error e) {
      figures.fail("chaos itself failed while taking the figures: " + e);
      e.printStackTrace(chaos.log());
    }
    var restarts = run.processes().unplannedRestarts();
    if (!toleratesUnplannedRestarts())
      figures.check(
          restarts == 0,
          restarts + " unplanned restart(s): a process exited by itself (see the log)");
    return figures.build();
  }
}
