package io.streamrlhf.infra.chaos;

import io.streamrlhf.learner.config.PpoConfig;
import java.time.Duration;
import java.util.Map;
import java.util.Random;

/**
 * The broker stopped mid-run for the outage (60 s by default) and started again on the same port
 * and data directory; one actor, max_lag 0. The loop must carry on by itself once the broker is
 * back (a supervisor's restarts are allowed and counted) with every prompt trained on exactly once
 * and the final weights of an uninterrupted run. Recovery is from the broker being ready again to
 * the learner's next update.
 */
final class BrokerOutage extends LoopScenario {
  private long backAt;

  @Override
  public String name() {
    return "broker-outage";
  }

  @Override
  public String description() {
    return "stop the broker mid-run for --outage (default 60 s) and start it again on the same port and data;"
        + " one actor, max_lag 0: every prompt once, final weights equal an uninterrupted run's";
  }

  @Override
  public boolean fast() {
    return false;
  }

  @Override
  boolean toleratesUnplannedRestarts() {
    return true;
  }

  @Override
  Duration stallBound(ChaosSettings settings) {
    return Duration.ofSeconds(60).plus(settings.outage());
  }

  @Override
  PpoConfig config(ChaosSettings settings) {
    return TinyModels.config(10, 0, settings.seed());
  }

  @Override
  int actors() {
    return 1;
  }

  @Override
  void inject(LoopRun run) throws Exception {
    var random = new Random(run.chaos().settings().seed());
    var processes = run.processes();
    var outage = run.chaos().settings().outage();
    run.startLearner(Map.of());
    processes.awaitUpdate(LoopRun.LEARNER, 3 + random.nextInt(3), run.remaining());
    long down = System.nanoTime();
    processes.stopBroker();
    run.figures().fault("broker down " + outage.toSeconds() + " s");
    processes.idle(outage.minusNanos(System.nanoTime() - down));
    processes.startBroker();
    backAt = System.nanoTime();
    run.figures().note(String.format("the broker was down %.1f s", (backAt - down) / 1e9));
    run.awaitLearnerFinished();
  }

  @Override
  void conclude(LoopRun run) {
    var next = run.processes().firstUpdateAfter(LoopRun.LEARNER, backAt);
    if (backAt > 0 && next != null) run.figures().recovery((next.nanos() - backAt) / 1e9);
  }
}
