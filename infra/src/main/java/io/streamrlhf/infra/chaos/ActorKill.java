package io.streamrlhf.infra.chaos;

import io.streamrlhf.learner.config.PpoConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * One of two actors killed with SIGKILL at a random point, and a third joining, max_lag 0 (so a
 * prompt stuck with the dead actor stalls the learner): every prompt trained on exactly once, and
 * the dead actor's partitions moved within the recovery bound. The recovery figure is the longest
 * the learner went without an update from the kill on.
 */
final class ActorKill extends LoopScenario {
  private static final String JOINER = "actor-joiner";
  private long killedAt;

  @Override
  public String name() {
    return "actor-kill";
  }

  @Override
  public String description() {
    return "SIGKILL one of two actors at a random point and start a joiner; max_lag 0: every prompt"
        + " once, and the loop moves on within the recovery bound";
  }

  @Override
  public boolean fast() {
    return false;
  }

  @Override
  PpoConfig config(ChaosSettings settings) {
    return TinyModels.config(10, 0, settings.seed());
  }

  @Override
  int actors() {
    return 2;
  }

  @Override
  void inject(LoopRun run) throws Exception {
    var random = new Random(run.chaos().settings().seed());
    var processes = run.processes();
    // the actor to kill must hold prompt partitions, or its death changes nothing
    for (int i = 1; i <= 2; i++) awaitPartitions(run, LoopRun.actorName(i), 0);
    run.startLearner(Map.of());
    processes.awaitUpdate(LoopRun.LEARNER, 2 + random.nextInt(3), run.remaining());
    Thread.sleep(random.nextInt(1000)); // the random point: how long after the update line
    killedAt = processes.kill(LoopRun.actorName(1));
    run.figures().fault("actor SIGKILL");
    int joined = run.transcript().size();
    processes.startActor(JOINER);
    run.figures().fault("actor joining");
    run.awaitLearnerFinished();
    // the joiner gets its share whether or not the run still needs it
    awaitPartitions(run, JOINER, joined);
  }

  /** Waits until {@code actor} is assigned at least one prompt partition. */
  private static void awaitPartitions(LoopRun run, String actor, int from)
      throws InterruptedException {
    run.processes()
        .await(
            actor,
            from,
            l -> l.text().contains("assigned prompt partitions [rlhf"),
            "assignment of prompt partitions",
            java.time.Duration.ofSeconds(90));
  }

  @Override
  void conclude(LoopRun run) {
    var updates = new ArrayList<Long>(List.of(killedAt));
    for (var line : run.transcript().lines())
      if (line.nanos() > killedAt && line.from(LoopRun.LEARNER) && LoopProcesses.updateOf(line) > 0)
        updates.add(line.nanos());
    double longest = 0;
    for (int i = 1; i < updates.size(); i++)
      longest = Math.max(longest, (updates.get(i) - updates.get(i - 1)) / 1e9);
    if (updates.size() < 2) return;
    run.figures().recovery(longest);
    var bound = run.chaos().settings().recoveryBound();
    run.figures()
        .check(
            longest <= bound.toSeconds(),
            String.format(
                "after the actor's death the learner went %.1f s without an update (bound %d s):"
                    + " the dead actor's prompt partitions moved late",
                longest, bound.toSeconds()));
    run.figures()
        .check(
            run.transcript()
                    .find(
                        0,
                        l ->
                            l.source().startsWith("actor-joiner")
                                && l.text().contains("assigned prompt partitions"))
                != null,
            "the joining actor was never assigned prompt partitions");
  }
}
