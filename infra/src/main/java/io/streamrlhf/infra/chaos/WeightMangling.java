package io.streamrlhf.infra.chaos;

import io.streamrlhf.learner.config.PpoConfig;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * Weight chunks dropped, reordered, duplicated, corrupted and forged by a second writer on the
 * policy-weights topic ({@link ChunkInterposer}), one actor, max_lag 0. The actor must apply only
 * versions the learner published (never a forged number such as {@link Long#MAX_VALUE}), and never
 * a forged copy under a real number: the run finishes with every prompt trained on exactly once and
 * the final weights of an uninterrupted run. The actor checks the learner's signatures ({@link
 * LoopProcesses} gives it the public key), which is what refuses a valid copy of a real version
 * renumbered as the next one.
 */
final class WeightMangling extends LoopScenario {
  private static final Pattern APPLIED = Pattern.compile(": policy v(\\d+) applied");

  @Override
  public String name() {
    return "weight-mangling";
  }

  @Override
  public String description() {
    return "weight chunks duplicated, reordered, corrupted, dropped, and forged versions (next, far"
        + " ahead, Long.MAX_VALUE) on the policy topic: only the learner's versions applied, final"
        + " weights equal an uninterrupted run's";
  }

  @Override
  public boolean fast() {
    return true;
  }

  @Override
  PpoConfig config(ChaosSettings settings) {
    return TinyModels.config(6, 0, settings.seed());
  }

  @Override
  int actors() {
    return 1;
  }

  @Override
  void inject(LoopRun run) throws Exception {
    try (var interposer = new ChunkInterposer(run.processes().bootstrap())) {
      run.startLearner(Map.of());
      try {
        run.awaitLearnerFinished();
      } finally {
        interposer.faults().forEach(run.figures()::faults);
        if (interposer.failure() != null)
          run.figures().note("the interposer stopped early: " + interposer.failure());
      }
    }
  }

  @Override
  void conclude(LoopRun run) {
    var applied = new TreeSet<Long>();
    for (var line : run.transcript().lines()) {
      if (!line.source().startsWith("actor-")) continue;
      var m = APPLIED.matcher(line.text());
      if (m.find()) applied.add(Long.parseLong(m.group(1)));
    }
    long newest = run.config().updates();
    var forged = applied.stream().filter(v -> v > newest).toList();
    run.figures()
        .check(
            forged.isEmpty(),
            "the actor applied policy version(s) the learner never published: " + forged);
    run.figures().note("policy versions the actor applied: " + applied);
  }
}
