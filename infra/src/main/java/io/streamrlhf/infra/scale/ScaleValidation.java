package io.streamrlhf.infra.scale;

import io.streamrlhf.infra.chaos.TinyModels;
import io.streamrlhf.learner.config.ConfigLoader;
import io.streamrlhf.learner.config.PpoConfig;
import io.streamrlhf.learner.stream.StreamStats;
import io.streamrlhf.model.GptConfig;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The scale model against measured runs: the loop as pinned processes on one machine (a learner on
 * {@code learnerCpus}; 1, 2 and 3 actors sharing {@code actorCpus}, with max_lag 4 and with 0,
 * where the broker also runs), bench-small-shaped random models. The costs are measured in the
 * first run (1 actor, asynchronous) from the rollouts' own timestamps and the learner's log, the
 * actor's from it and from one more 1-actor run whose actor samples smaller batches ({@link
 * #SMALL_BATCHES}): its time per batch as a fixed overhead + rows ÷ rate. The model, given those
 * costs and each run's actor count, max_lag and shared actor cores, predicts every run, and the
 * table puts prediction and measurement side by side.
 */
public final class ScaleValidation {
  /**
   * One measured configuration.
   *
   * @param actorBatchPrompts its actors sample at most this many prompts at once ({@code rlhf actor
   *     --set prompts_per_batch=N}; the learner's batch stays {@link #PROMPTS_PER_BATCH}); 0: as
   *     many as the learner's batch has
   */
  record Setup(String name, int actors, int maxLag, int actorBatchPrompts) {
    Setup(String name, int actors, int maxLag) {
      this(name, actors, maxLag, 0);
    }

    String directory() {
      return name.replaceAll("[^a-z0-9]+", "-");
    }
  }

  /** The runs predicted and compared. */
  static final List<Setup> SETUPS =
      List.of(
          new Setup("1 actor", 1, 4),
          new Setup("2 actors", 2, 4),
          new Setup("3 actors", 3, 4),
          new Setup("1 actor, sync", 1, 0),
          new Setup("2 actors, sync", 2, 0),
          new Setup("3 actors, sync", 3, 0));

  /** The validation loop's shape: bench's batch of 8 prompts × K 2. */
  static final int PROMPTS_PER_BATCH = 8;

  static final int RESPONSES_PER_PROMPT = 2;

  /** An actor of the small-batch run samples at most this many prompts at once. */
  static final int SMALL_BATCH_PROMPTS = 2;

  /**
   * A run only for the actor's costs, measured right after the first: as the first (1 actor,
   * max_lag 4, the learner's batch of 8 prompts), but the actor samples {@link
   * #SMALL_BATCH_PROMPTS} prompts (4 rows) at once, so that its time per batch shows at two sizes.
   * Why this one: with the learner's batch and the broker's work per version unchanged, the
   * broker's CPU per row is the same in both runs, so an error in taking it out moves both batch
   * sizes along one line and leaves the overhead alone (a smaller learner batch would publish a
   * version every 4 or 8 rows and put the broker's correction into the overhead); 4 rows and 16
   * bracket the 4–8-row batches that 2 and 3 actors sample (4 partitions shared), so predicting
   * them interpolates; and the overhead's error is about 1.4 times that of a mean batch time (2.2
   * with 8 rows against 16).
   */
  static final Setup SMALL_BATCHES =
      new Setup(
          "1 actor, " + SMALL_BATCH_PROMPTS * RESPONSES_PER_PROMPT + "-row batches",
          1,
          4,
          SMALL_BATCH_PROMPTS);

  private final Path dir;
  private final int updates;
  private final String learnerCpus;
  private final String actorCpus;
  private final long seed;
  private final PrintWriter out;
  private final int warmup;
  private final boolean measure;

  /**
   * @param warmup throughput and idle are compared from version {@code warmup} on (the first
   *     updates pay the JIT and first-touch costs the model does not have)
   * @param measure run the loops; false: read the runs an earlier validation saved in {@code dir}
   */
  public ScaleValidation(
      Path dir,
      int updates,
      String learnerCpus,
      String actorCpus,
      long seed,
      int warmup,
      boolean measure,
      PrintWriter out) {
    this.warmup = warmup;
    this.measure = measure;
    this.dir = dir;
    this.updates = updates;
    this.learnerCpus = learnerCpus;
    this.actorCpus = actorCpus;
    this.seed = seed;
    this.out = out;
  }

  public void run() throws IOException, InterruptedException {
    Files.createDirectories(dir);
    writeModels(dir);
    if (measure) {
      out.printf(
          "scale-model --validate: runs in %s; learner on CPU %s, actors and broker on CPU %s"
              + " (--cpus); load average %s at the start%n",
          dir, learnerCpus, actorCpus, loadAverage());
    } else {
      out.printf("scale-model --validate-from %s: the runs saved there%n", dir);
    }
    var measured = new ArrayList<MeasuredRun>();
    MeasuredRun small = null;
    // the small-batch run right after the first: the actor's costs come from the two
    for (var setup : runOrder()) {
      var runDir = dir.resolve(setup.directory());
      MeasuredRun run;
      if (!measure) {
        if (setup == SMALL_BATCHES && !Files.isDirectory(runDir)) continue;
        run = MeasuredRun.load(runDir);
        out.printf("  %s: %s%n", setup.name(), run.line());
      } else {
        run = measure(setup, runDir);
      }
      if (setup == SMALL_BATCHES) small = run;
      else measured.add(run);
    }
    int cores = cpuCount(actorCpus);
    int updates = (int) measured.get(0).summary().rolloutsApplied() / rolloutsPerBatch();
    var own = new ArrayList<LoopCosts>();
    boolean recorded = false;
    for (int i = 0; i < SETUPS.size(); i++) {
      var c = costs(measured.get(i), SETUPS.get(i).maxLag(), cores, updates);
      own.add(c);
      recorded |= printCosts(SETUPS.get(i), measured.get(i), c, "");
    }
    if (small != null) {
      var c = costs(small, SMALL_BATCHES.maxLag(), cores, updates);
      recorded |= printCosts(SMALL_BATCHES, small, c, " (for the actor's costs only)");
    }
    if (!recorded)
      out.println(
          "  (no CPU samples in these runs: saved before the validation recorded them; the broker's"
              + " costs are read from the stamps alone)");
    var first = actorCosts(own.get(0), measured.get(0), small, cores);
    out.printf(
        "predicted vs measured: rollouts/s and learner idle from v%d's publish to v%d's (the"
            + " steady state), the learner's publish (mean) and checkpoint-to-applied (median) of"
            + " versions after v%d, lag over the whole run; '1' predicts with the costs of '%s'"
            + " (the actor's as above), 'own' with each run's (which a load that changes between"
            + " runs needs)%n",
        warmup, updates, warmup, SETUPS.get(0).name());
    out.printf(
        "%-14s | %8s | %17s | %17s | %20s | %13s | %13s | %9s | %9s%n",
        "run",
        "measured",
        "from run 1 (err)",
        "own costs (err)",
        "l_idle m / 1 / own",
        "publish m/1",
        "apply m/1",
        "lag50 m/p",
        "lag99 m/p");
    for (int i = 0; i < SETUPS.size(); i++) {
      var setup = SETUPS.get(i);
      var m = measured.get(i);
      var mw = m.window(warmup, updates, rolloutsPerBatch());
      var fromFirst = LoopSimulation.run(first.withMaxLag(setup.maxLag()), setup.actors(), seed);
      var fromOwn = LoopSimulation.run(own.get(i), setup.actors(), seed);
      var fw = fromFirst.window(warmup);
      var ow = fromOwn.window(warmup);
      double publish =
          m.publishTimes(warmup).values().stream().mapToDouble(d -> d).average().orElse(Double.NaN);
      double apply =
          LoopSimulation.median(m.applyTimes(warmup).stream().mapToDouble(d -> d).toArray());
      out.printf(
          "%-14s | %8.2f | %8.2f %+7.1f%% | %8.2f %+7.1f%% | %6.3f %6.3f %6.3f | %6.3f %6.3f |"
              + " %6.3f %6.3f | %4d %4d | %4d %4d%n",
          setup.name(),
          mw.rolloutsPerS(),
          fw.rolloutsPerS(),
          100 * (fw.rolloutsPerS() / mw.rolloutsPerS() - 1),
          ow.rolloutsPerS(),
          100 * (ow.rolloutsPerS() / mw.rolloutsPerS() - 1),
          mw.learnerIdleFraction(),
          fw.learnerIdleFraction(),
          ow.learnerIdleFraction(),
          publish,
          fromFirst.meanPublishS(warmup),
          apply,
          fromFirst.medianApplyS(warmup),
          m.summary().lagP50(),
          fromOwn.lagP50(),
          m.summary().lagP99(),
          fromOwn.lagP99());
    }
    if (measure) out.printf("load average %s at the end%n", loadAverage());
  }

  /**
   * The files {@code --validate-from dir} reads that {@code dir} lacks, relative to it: each run's
   * {@link MeasuredRun#load} files, which {@code --validate} saved there (the small-batch run's
   * only where its directory is, as validations before it have none).
   */
  public static List<String> missingSavedRuns(Path dir) {
    var missing = new ArrayList<String>();
    for (var setup : runOrder()) {
      var runDir = dir.resolve(setup.directory());
      if (setup == SMALL_BATCHES && !Files.isDirectory(runDir)) continue;
      for (var file : savedFiles()) {
        if (!Files.isRegularFile(runDir.resolve(file))) missing.add(setup.directory() + "/" + file);
      }
    }
    return missing;
  }

  /**
   * The learner directory, relative to a --validate-dir, whose statistics {@link #savedUpdates}
   * reads.
   */
  public static Path savedLearner() {
    return Path.of(SETUPS.get(0).directory(), "learner");
  }

  /** The updates of the runs saved in {@code dir} (whose files {@link #missingSavedRuns} found). */
  public static int savedUpdates(Path dir) throws IOException {
    var learner = dir.resolve(savedLearner());
    return (int) (StreamStats.Summary.read(learner).rolloutsApplied() / rolloutsPerBatch());
  }

  /**
   * The directories of the runs --validate-from predicts (the small-batch run, optional, aside).
   */
  public static List<String> savedRunDirectories() {
    return SETUPS.stream().map(Setup::directory).toList();
  }

  /** What {@link MeasuredRun#load} reads in a run's directory. */
  public static List<String> savedFiles() {
    return List.of(MeasuredRun.TRANSCRIPT, MeasuredRun.ROLLOUTS, "learner/" + StreamStats.FILE);
  }

  /** The runs in the order they are measured: the small-batch run right after the first. */
  static List<Setup> runOrder() {
    var order = new ArrayList<>(SETUPS);
    order.add(1, SMALL_BATCHES);
    return order;
  }

  private MeasuredRun measure(Setup setup, Path runDir) throws IOException, InterruptedException {
    var config = config(setup.maxLag());
    Path configFile = runDir.resolve("config");
    Files.createDirectories(configFile);
    ConfigLoader.save(config, configFile);
    out.printf("run '%s' (%d updates)...%n", setup.name(), updates);
    var run =
        new PinnedLoop(
                runDir,
                dir,
                configFile.resolve(ConfigLoader.FILE_NAME),
                setup.actors(),
                setup.actorBatchPrompts(),
                learnerCpus,
                actorCpus)
            .run();
    out.printf("  measured: %s%n", run.line());
    return run;
  }

  private LoopCosts costs(MeasuredRun run, int maxLag, int cores, int updates) {
    return run.costs(PROMPTS_PER_BATCH, RESPONSES_PER_PROMPT, cores, warmup)
        .withMaxLag(maxLag)
        .withUpdates(updates);
  }

  /** Prints a run's costs; whether it had CPU samples. */
  private boolean printCosts(Setup setup, MeasuredRun run, LoopCosts c, String note) {
    out.printf(
        "costs measured in '%s'%s: an actor alone %.1f rollouts/s + %.3f s a batch; update %.3f s,"
            + " checkpoint %.3f s, publish %.3f s + the broker's ingest %.3f CPU-s; a copy to"
            + " each actor %.3f CPU-s; publish-to-apply %.3f s%n",
        setup.name(),
        note,
        c.actorRolloutsPerS(),
        c.actorBatchOverheadS(),
        c.learnerUpdateS(),
        c.learnerCheckpointS(),
        c.publishS(),
        c.brokerIngestS(),
        c.brokerServeS(),
        c.publishToApplyS());
    var broker = run.cpuPerVersion("broker", warmup);
    var actors = run.cpuPerVersion("actor", warmup);
    if (broker.isEmpty() || actors.isEmpty()) return false;
    out.printf(
        "  CPU the OS counted per version after v%d: broker %.3f s, actors %.3f s (the model's"
            + " broker work: ingest + %d copies = %.3f CPU-s, the actors' receiving in it)%n",
        warmup,
        broker.getAsDouble(),
        actors.getAsDouble(),
        setup.actors(),
        c.brokerIngestS() + setup.actors() * c.brokerServeS());
    return true;
  }

  /**
   * The first run's costs with the actor's read from both 1-actor runs: the line through their
   * batches (less the broker's CPU, the first run's broker costs taken out of both); without the
   * small-batch run, or when the line has no usable overhead, the first run's costs as they are (no
   * overhead, its own rate).
   */
  private LoopCosts actorCosts(
      LoopCosts first, MeasuredRun firstRun, MeasuredRun small, int cores) {
    if (small == null) {
      out.printf(
          "the actor's per-batch overhead is not measured: %s has no '%s' run (saved before"
              + " --validate had it); predicting with the rate of '%s' and no overhead, as before%n",
          dir, SMALL_BATCHES.name(), SETUPS.get(0).name());
      return first;
    }
    var broker = firstRun.brokerCosts(cores, warmup);
    var fit = MeasuredRun.actorFit(List.of(firstRun, small), cores, warmup, broker);
    var sizes = new ArrayList<String>();
    fit.byRows()
        .forEach(
            (rows, v) -> sizes.add(String.format("%d rows %.3f s (%d)", rows, v[1], (int) v[0])));
    out.printf(
        "the actor's batches in '%s' and '%s' after v%d, less the broker's CPU (the costs of '%s'"
            + " in both): mean %s; batch = %.3f s + rows ÷ %.1f rollouts/s%n",
        SETUPS.get(0).name(),
        SMALL_BATCHES.name(),
        warmup,
        SETUPS.get(0).name(),
        String.join(", ", sizes),
        fit.overheadS(),
        fit.rolloutsPerS());
    if (!fit.usable()) {
      out.printf(
          "  no usable per-batch overhead in that line; predicting with the rate of '%s' and no"
              + " overhead%n",
          SETUPS.get(0).name());
      return first;
    }
    return first.withActor(fit.rolloutsPerS(), fit.overheadS());
  }

  private static int rolloutsPerBatch() {
    return PROMPTS_PER_BATCH * RESPONSES_PER_PROMPT;
  }

  private PpoConfig config(int maxLag) {
    return ConfigLoader.with(
        PpoConfig.defaults(),
        "seed=" + seed,
        "updates=" + updates,
        "prompts_per_batch=" + PROMPTS_PER_BATCH,
        "responses_per_prompt=" + RESPONSES_PER_PROMPT,
        "epochs_per_batch=1",
        "tokens_per_minibatch=4096",
        "value_warmup_updates=0",
        "eval_every_updates=100000",
        "eval_prompts=1",
        "log_every_updates=1",
        "checkpoint_every_updates=100000",
        "max_lag=" + maxLag);
  }

  /** Random bench-small SFT and reward-model checkpoints in {@code dir/sft} and {@code dir/rm}. */
  static void writeModels(Path dir) throws IOException {
    TinyModels.write(dir, GptConfig.small());
  }

  /** How many CPUs a taskset list names ("0", "0-1", "0,2"). */
  static int cpuCount(String list) {
    int n = 0;
    for (var part : list.split(",")) {
      int dash = part.indexOf('-');
      n +=
          dash < 0
              ? 1
              : Integer.parseInt(part.substring(dash + 1).strip())
                  - Integer.parseInt(part.substring(0, dash).strip())
                  + 1;
    }
    return n;
  }

  private static String loadAverage() {
    try {
      var parts = Files.readString(Path.of("/proc/loadavg")).split(" ");
      return parts[0] + " " + parts[1] + " " + parts[2];
    } catch (IOException e) {
      return "unknown";
    }
  }
}
