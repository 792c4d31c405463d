package io.streamrlhf.infra.chaos;

import io.streamrlhf.learner.config.PpoConfig;
import io.streamrlhf.model.checkpoint.Checkpoint;
import io.streamrlhf.model.checkpoint.Json;
import io.streamrlhf.schemas.AvroCodec;
import io.streamrlhf.schemas.Topics;
import io.streamrlhf.schemas.WeightChunk;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * A second learner on a run whose learner hangs (SIGSTOP after it published v2; one actor, max_lag
 * 0), as a supervisor that takes the hung learner for dead would start one. With {@code --resume}
 * on the same {@code --out} it must exit non-zero at once (the hung learner still holds it). From a
 * copy of the checkpoint in another directory (the same run) it takes over and must finish; when
 * the hung learner wakes (SIGCONT) it is a zombie and must be fenced: it publishes nothing more (it
 * may fail at its next publication, or wait harmlessly until stopped), and no weight version on the
 * topic has two different contents. The new learner's checkpoint must hold every prompt exactly
 * once and the final weights of an uninterrupted run.
 */
final class SecondLearner extends LoopScenario {
  private static final String FIRST = LoopRun.LEARNER;
  private static final String SAME_OUT = "learner-same-out";
  private static final String COPY = "learner-copy";
  private static final Duration FAIL_FAST = Duration.ofSeconds(90);
  private static final Duration ZOMBIE_GRACE = Duration.ofSeconds(30);

  /** What {@code rlhf learner} says when another learner holds its --out. */
  private static final String LOCK_REFUSAL = "is in use by another learner";

  private static final AvroCodec<WeightChunk> CHUNKS = AvroCodec.of(WeightChunk.class);

  @Override
  public String name() {
    return "second-learner";
  }

  @Override
  public String description() {
    return "the learner hangs (SIGSTOP) and a second one starts: on the same --out it must fail fast;"
        + " from a copy in another directory it takes over, and the hung one, woken, must be fenced";
  }

  @Override
  public boolean fast() {
    return true;
  }

  @Override
  PpoConfig config(ChaosSettings settings) {
    return TinyModels.config(8, 0, settings.seed());
  }

  @Override
  int actors() {
    return 1;
  }

  @Override
  void inject(LoopRun run) throws Exception {
    var processes = run.processes();
    var figures = run.figures();
    var first = processes.startLearner(FIRST, run.out(), false, false, Map.of());
    processes.await(
        FIRST,
        0,
        l -> l.text().startsWith("learner: published policy v2 "),
        "publication of policy v2",
        run.remaining());
    // the first learner hangs (a long pause, a hung host) holding everything it held
    first.freeze();
    figures.fault("learner paused (SIGSTOP)");
    var copyDir = run.dir().resolve("learner-copy-out");
    try {
      copyCheckpoint(run.out(), copyDir);
      sameOut(run);
      // a supervisor starts the run again elsewhere from the same checkpoint: the paused one is
      // now a zombie
      var copy = processes.startLearner(COPY, copyDir, true, false, Map.of());
      figures.fault("second learner of the same run from another directory");
      processes.awaitUpdate(COPY, 4, run.remaining());
    } finally {
      // woken, the zombie may exit (fenced): planned, and answered below
      first.expectExit();
      first.thaw();
    }
    figures.fault("paused learner resumed (SIGCONT)");
    int woke = run.transcript().size();
    processes.awaitFinished(COPY, run.remaining());
    // fenced, the zombie fails at its next publication; one still waiting for rollouts is harmless
    if (!first.awaitExit(ZOMBIE_GRACE)) {
      figures.note(
          "the zombie was still waiting "
              + ZOMBIE_GRACE.toSeconds()
              + " s after the new learner finished: stopped");
      processes.kill(FIRST);
    } else {
      int code = first.exitCode().orElse(-1);
      figures.check(code != 0, "the zombie learner finished the run after it woke (exit code 0)");
      figures.note("the zombie exited with code " + code + ": " + run.transcript().tail(FIRST, 1));
    }
    var published =
        run.transcript()
            .find(
                woke,
                l ->
                    l.from(FIRST)
                        && (l.text().startsWith("learner: published policy v")
                            || l.text().startsWith("learner: published extra prompt batch")));
    figures.check(
        published == null,
        "the zombie published after it woke, not fenced: \""
            + (published == null ? "" : published.text())
            + "\"");
    run.accountFrom(copyDir);
    checkOneContentPerVersion(run);
  }

  /**
   * A second learner with --resume on the paused learner's --out must exit non-zero at once; one
   * that resumes the run is killed as soon as it says so, before it trains.
   */
  private static void sameOut(LoopRun run) throws InterruptedException {
    var processes = run.processes();
    var figures = run.figures();
    long started = System.nanoTime();
    int from = run.transcript().size();
    var same = processes.startLearner(SAME_OUT, run.out(), true, false, Map.of());
    same.expectExit(); // it must exit: answered below, not by the supervisor
    figures.fault("second learner with --resume on the same --out");
    long deadline = started + FAIL_FAST.toNanos();
    while (same.alive()) {
      if (run.transcript()
              .find(from, l -> l.from(SAME_OUT) && l.text().startsWith("learner: resumed run"))
          != null) {
        processes.kill(SAME_OUT);
        figures.fail(
            "a second learner with --resume on the same --out resumed the run (no lock on the output directory)");
        return;
      }
      if (System.nanoTime() > deadline) {
        processes.kill(SAME_OUT);
        figures.fail(
            "a second learner with --resume on the same --out still ran "
                + FAIL_FAST.toSeconds()
                + " s after it started");
        return;
      }
      processes.idle(Duration.ofMillis(100));
    }
    same.awaitExit(Duration.ZERO); // its last line into the transcript
    int code = same.exitCode().orElse(-1);
    var reason = run.transcript().tail(SAME_OUT, 1);
    figures.check(code != 0, "a second learner on the same --out exited 0");
    // an exit for another reason (a broker it could not reach) would prove nothing about the lock
    figures.check(
        code == 0 || reason.contains(LOCK_REFUSAL),
        "a second learner on the same --out exited with code "
            + code
            + " but not refused by the lock on --out: "
            + reason);
    figures.note(
        String.format(
            "the learner on the same --out exited with code %d after %.1f s: %s",
            code, (System.nanoTime() - started) / 1e9, reason));
  }

  /** Every weight version on the topic (committed records) has one SHA-256. */
  private static void checkOneContentPerVersion(LoopRun run) {
    var shas = new TreeMap<Long, Set<String>>();
    for (var record :
        TopicReader.readAll(
            run.processes().bootstrap(), Topics.POLICY_WEIGHTS, Duration.ofSeconds(30))) {
      var chunk = CHUNKS.decode(record.value());
      shas.computeIfAbsent(chunk.getVersion(), v -> new TreeSet<>())
          .add(HexFormat.of().formatHex(chunk.getSha256().bytes()));
    }
    var twice =
        shas.entrySet().stream()
            .filter(e -> e.getValue().size() > 1)
            .map(Map.Entry::getKey)
            .toList();
    run.figures()
        .check(
            twice.isEmpty(),
            "weight version(s) " + twice + " published with two different contents");
  }

  /**
   * A consistent copy of the checkpoint in force in {@code from} (config, pointer, the step it
   * names, then the applied-rollout log, which only grows), taken while its learner writes; tried
   * again when the step is replaced under it.
   */
  static void copyCheckpoint(Path from, Path to) throws IOException {
    for (int attempt = 1; ; attempt++) {
      try {
        ChaosRun.deleteTree(to);
        Files.createDirectories(to);
        var pointer = Files.readAllBytes(from.resolve(Checkpoint.LATEST));
        var step = Json.MAPPER.readValue(pointer, Checkpoint.Latest.class).directory();
        copyTree(from.resolve(step), to.resolve(step));
        Files.write(to.resolve(Checkpoint.LATEST), pointer);
        // then the files beside it (config, the applied-rollout log): not a lock, which is the
        // first learner's and would refuse the copy for a reason other than fencing
        try (Stream<Path> files = Files.list(from)) {
          for (var file : files.filter(Files::isRegularFile).toList()) {
            var name = file.getFileName().toString();
            if (name.equals(Checkpoint.LATEST)
                || name.toLowerCase(java.util.Locale.ROOT).contains("lock")) continue;
            Files.copy(file, to.resolve(name), StandardCopyOption.REPLACE_EXISTING);
          }
        }
        return;
      } catch (NoSuchFileException replaced) {
        if (attempt == 20) throw replaced;
      }
    }
  }

  private static void copyTree(Path from, Path to) throws IOException {
    try (Stream<Path> walk = Files.walk(from)) {
      for (var p : walk.toList()) {
        var target = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p)) Files.createDirectories(target);
        else Files.copy(p, target);
      }
    }
  }
}
