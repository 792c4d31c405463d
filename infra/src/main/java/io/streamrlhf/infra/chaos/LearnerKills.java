package io.streamrlhf.infra.chaos;

import io.streamrlhf.learner.config.PpoConfig;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * The learner killed with SIGKILL and started again with --resume, as a supervisor would. With one
 * kill ({@code learner-kill}): at a random moment after a random update, one actor, max_lag 0, so
 * the final weights must equal an uninterrupted run's. With three ({@code learner-kills}): inside a
 * checkpoint write, between a checkpoint and its publication, and at a random moment, with two
 * actors and max_lag 1, where a restart may not lose prompts to staleness.
 *
 * <p>Inside the write: the learner is started with {@value #HALT_PROPERTY}=N, the fault hook that
 * halts it midway through writing checkpoint vN; a learner without the hook writes vN whole, and
 * the kill falls back to SIGKILL the moment the next checkpoint's temporary directory appears (a
 * window of milliseconds; the figures say whether it landed inside).
 */
final class LearnerKills extends LoopScenario {
  static final String HALT_PROPERTY = "rlhf.fault.haltInCheckpointWrite";
  private static final String LEARNER = LoopRun.LEARNER;

  private final int kills;
  private final List<Long> faultEnds = new ArrayList<>();

  LearnerKills(int kills) {
    if (kills != 1 && kills != 3) throw new IllegalArgumentException("1 or 3 kills");
    this.kills = kills;
  }

  @Override
  public String name() {
    return kills == 1 ? "learner-kill" : "learner-kills";
  }

  @Override
  public String description() {
    return kills == 1
        ? "SIGKILL the learner at a random point, resume it; one actor, max_lag 0: every prompt once,"
            + " final weights equal an uninterrupted run's"
        : "SIGKILL the learner three times in one run (inside a checkpoint write, between checkpoint"
            + " and publish, at random); two actors, max_lag 1: every prompt once, none lost to staleness";
  }

  @Override
  public boolean fast() {
    return kills == 1;
  }

  @Override
  PpoConfig config(ChaosSettings settings) {
    return kills == 1
        ? TinyModels.config(6, 0, settings.seed())
        : TinyModels.config(12, 1, settings.seed());
  }

  @Override
  int actors() {
    return kills == 1 ? 1 : 2;
  }

  @Override
  void inject(LoopRun run) throws Exception {
    faultEnds.clear();
    var random = new Random(run.chaos().settings().seed());
    var processes = run.processes();
    if (kills == 1) {
      run.startLearner(Map.of());
      killAtRandom(run, 2 + random.nextInt(2), random);
    } else {
      long n1 = 2 + random.nextInt(3);
      run.startLearner(Map.of(HALT_PROPERTY, Long.toString(n1)));
      long n2 = killInsideCheckpointWrite(run, n1) + 1 + random.nextInt(2);
      killBetweenCheckpointAndPublish(run, n2);
      killAtRandom(run, n2 + 1 + random.nextInt(3), random);
    }
    processes.awaitFinished(LEARNER, run.remaining());
  }

  /** SIGKILL a random 0-1 s after update {@code update}'s line, then resume. */
  private void killAtRandom(LoopRun run, long update, Random random) throws Exception {
    var processes = run.processes();
    processes.awaitUpdate(LEARNER, update, run.remaining());
    // the random point itself: how long after the update line the kill lands
    Thread.sleep(random.nextInt(1000));
    faultEnds.add(processes.kill(LEARNER));
    run.figures().fault("learner SIGKILL at a random point");
    processes.restart(LEARNER);
  }

  /**
   * The learner dies inside checkpoint {@code version}'s write: halted by the fault hook, or, when
   * the learner has none, SIGKILLed when the next checkpoint's temporary directory appears. Returns
   * the version whose write was interrupted.
   */
  private long killInsideCheckpointWrite(LoopRun run, long version) throws Exception {
    var processes = run.processes();
    var learner = processes.process(LEARNER);
    var written = "learner: checkpoint v" + version + " written";
    // the hook halts the process: wait for its exit or for the checkpoint it should not finish
    long deadline = System.nanoTime() + run.remaining().toNanos();
    while (learner.alive()
        && run.transcript().find(0, l -> l.from(LEARNER) && l.text().startsWith(written)) == null) {
      if (System.nanoTime() > deadline)
        throw new ScenarioFailure(
            "the learner reached neither checkpoint v" + version + " nor its halt");
      processes.requireBroker(); // the learner's exit is what this waits for, the broker's is not
      learner.awaitExit(Duration.ofMillis(50));
    }
    if (!learner.alive()) {
      learner.expectExit();
      faultEnds.add(System.nanoTime());
      run.figures().fault("learner halted inside a checkpoint write");
      run.figures()
          .note(
              String.format(
                  "%s=%d halted the learner inside checkpoint v%d's write (exit code %d)",
                  HALT_PROPERTY, version, version, learner.exitCode().orElse(-1)));
      processes.restart(LEARNER);
      return version;
    }
    run.figures()
        .note(
            HALT_PROPERTY
                + " is not supported by this learner (it wrote checkpoint v"
                + version
                + "): SIGKILL when checkpoint v"
                + (version + 1)
                + "'s temporary directory appears instead");
    long next = version + 1;
    var tmp = run.out().resolve(String.format("step-%06d.tmp", next));
    while (!Files.exists(tmp)) {
      if (!learner.alive())
        throw processes.exited(
            learner, "before checkpoint v" + next + "'s temporary directory appeared");
      processes.requireBroker();
      if (System.nanoTime() > deadline)
        throw new ScenarioFailure("checkpoint v" + next + "'s temporary directory never appeared");
      Thread.sleep(1); // a tight poll: the write lasts milliseconds
    }
    faultEnds.add(processes.kill(LEARNER));
    boolean inside = Files.exists(tmp);
    run.figures()
        .fault(
            inside
                ? "learner SIGKILL inside a checkpoint write"
                : "learner SIGKILL just after a checkpoint write");
    run.figures()
        .note(
            "the SIGKILL "
                + (inside ? "landed inside" : "came just too late for (the rename had happened)")
                + " checkpoint v"
                + next
                + "'s write");
    processes.restart(LEARNER);
    return next;
  }

  /** SIGKILL as soon as checkpoint {@code version} is written, before its weights are published. */
  private void killBetweenCheckpointAndPublish(LoopRun run, long version) throws Exception {
    var processes = run.processes();
    int from = run.transcript().size();
    var written = "learner: checkpoint v" + version + " written";
    processes.await(
        LEARNER,
        from,
        l -> l.text().startsWith(written),
        "checkpoint v" + version,
        run.remaining());
    faultEnds.add(processes.kill(LEARNER));
    boolean published =
        run.transcript()
                .find(
                    from,
                    l ->
                        l.from(LEARNER)
                            && l.text().startsWith("learner: published policy v" + version + " "))
            != null;
    run.figures()
        .fault(
            published
                ? "learner SIGKILL just after a publish"
                : "learner SIGKILL between checkpoint and publish");
    if (published)
      run.figures()
          .note(
              "the SIGKILL meant for between checkpoint v"
                  + version
                  + " and its publication came after the publication");
    processes.restart(LEARNER);
  }

  @Override
  void conclude(LoopRun run) {
    for (long end : faultEnds) {
      var next = run.processes().firstUpdateAfter(LEARNER, end);
      if (next != null) run.figures().recovery((next.nanos() - end) / 1e9);
    }
  }
}
