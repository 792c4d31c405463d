package io.streamrlhf.infra.chaos;

import io.streamrlhf.learner.config.PpoConfig;
import io.streamrlhf.model.checkpoint.Checkpoint;
import io.streamrlhf.schemas.Topics;
import io.streamrlhf.schemas.transport.DeadLetters;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Poison on every topic the loop consumes ({@link PoisonInjector}): a share of records that decode
 * but are invalid and as many that do not decode, on prompts, rollouts and policy weights, one
 * actor, max_lag 0. Nothing may poison the loop: it finishes with no process exiting, every prompt
 * trained on exactly once, no poison applied (the final weights equal an uninterrupted run's), and
 * every poisoned prompt and rollout, and every undecodable weight chunk, in the dead-letter topic
 * with its raw bytes. (An invalid weight chunk may instead be refused by the assembler's bounds;
 * the figures say how many reached the dead-letter topic.)
 */
final class PoisonRecords extends LoopScenario {
  private static final Duration DEAD_LETTER_WAIT = Duration.ofSeconds(60);

  @Override
  public String name() {
    return "poison";
  }

  @Override
  public String description() {
    return "1% invalid-but-decodable and 1% undecodable records (at least one of each) on prompts,"
        + " rollouts and policy weights: the loop finishes, no poison applied, all in the dead-letter topic";
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
    var settings = run.chaos().settings();
    var shape = Checkpoint.modelConfig(run.chaos().sft());
    var processes = run.processes();
    try (var poison =
        new PoisonInjector(
            processes.bootstrap(),
            settings.poisonRate(),
            shape.contextLength(),
            shape.vocabSize(),
            run.config().updates() - 1,
            settings.seed())) {
      run.startLearner(Map.of());
      boolean finished = false;
      try {
        run.awaitLearnerFinished();
        finished = true;
      } finally {
        // what was injected, and what reached the dead-letter topic, whether or not the run ended
        var injected = poison.injected();
        for (var p : injected)
          run.figures()
              .fault(p.topic() + (p.decodable() ? " invalid: " : " undecodable: ") + p.kind());
        if (poison.failure() != null)
          run.figures().note("the poison producer stopped early: " + poison.failure());
        checkDeadLetters(run, injected, finished ? DEAD_LETTER_WAIT : Duration.ZERO);
      }
    }
  }

  /** Waits (bounded) for every injected record that must be dead-lettered, then reports. */
  private static void checkDeadLetters(
      LoopRun run, List<PoisonInjector.Injected> injected, Duration wait)
      throws InterruptedException {
    var processes = run.processes();
    if (!processes.broker().alive()) return;
    var required = new HashSet<ByteBuffer>();
    for (var p : injected) if (mustBeDeadLettered(p)) required.add(ByteBuffer.wrap(p.value()));
    Set<ByteBuffer> lettered = Set.of();
    Map<ByteBuffer, String> reasons = Map.of();
    long deadline = System.nanoTime() + wait.toNanos();
    while (true) {
      var letters = new HashMap<ByteBuffer, String>();
      for (var record :
          TopicReader.readAll(processes.bootstrap(), Topics.DEAD_LETTER, Duration.ofSeconds(30))) {
        var letter = DeadLetters.codec().decode(record.value());
        if (letter.getValue() == null) continue;
        var value = letter.getValue().duplicate();
        var bytes = new byte[value.remaining()];
        value.get(bytes);
        letters.put(ByteBuffer.wrap(bytes), letter.getError());
      }
      lettered = letters.keySet();
      reasons = letters;
      if (lettered.containsAll(required) || System.nanoTime() > deadline) break;
      processes.idle(Duration.ofSeconds(1));
    }
    var byClass = new TreeMap<String, int[]>();
    for (var p : injected) {
      var key = p.topic() + (p.decodable() ? " invalid" : " undecodable");
      var counts = byClass.computeIfAbsent(key, k -> new int[2]);
      counts[0]++;
      if (lettered.contains(ByteBuffer.wrap(p.value()))) counts[1]++;
      else if (mustBeDeadLettered(p))
        run.figures()
            .fail(
                p.topic()
                    + " "
                    + (p.decodable() ? "invalid" : "undecodable")
                    + " record ("
                    + p.kind()
                    + ") not in "
                    + Topics.DEAD_LETTER);
    }
    byClass.forEach(
        (k, c) ->
            run.figures().note(k + ": " + c[1] + " of " + c[0] + " in " + Topics.DEAD_LETTER));
    // one reason of each kind, so a reader sees what the consumers said
    var shown = new HashSet<String>();
    for (var p : injected) {
      var reason = reasons.get(ByteBuffer.wrap(p.value()));
      if (reason != null && shown.add(p.topic() + p.kind()))
        run.figures()
            .note("dead letter for " + p.topic() + " " + p.kind() + ": " + abbreviate(reason));
    }
  }

  private static boolean mustBeDeadLettered(PoisonInjector.Injected p) {
    return !(p.topic().equals(Topics.POLICY_WEIGHTS) && p.decodable());
  }

  private static String abbreviate(String s) {
    return s.length() <= 160 ? s : s.substring(0, 157) + "...";
  }
}
