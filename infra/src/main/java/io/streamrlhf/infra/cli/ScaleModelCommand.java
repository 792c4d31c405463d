package io.streamrlhf.infra.cli;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.PropertyNamingStrategies;
import com.fasterxml.jackson.databind.node.MissingNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.streamrlhf.infra.scale.LoopCosts;
import io.streamrlhf.infra.scale.ScaleTable;
import io.streamrlhf.infra.scale.ScaleValidation;
import io.streamrlhf.infra.scale.WeightPath;
import io.streamrlhf.learner.stream.StreamStats;
import java.io.IOException;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code rlhf scale-model}: the streaming loop's scale model ({@link
 * io.streamrlhf.infra.scale.LoopSimulation}) for 1–64 actors from measured costs, the point where
 * Kafka's weight path stops keeping up ({@link WeightPath}), and with {@code --validate} the model
 * against measured runs of pinned processes ({@link ScaleValidation}).
 */
@Command(
    name = "scale-model",
    mixinStandardHelpOptions = true,
    showDefaultValues = true,
    description = {
      "Predicts the streaming loop's throughput, learner idle fraction and policy lag for N "
          + "actors (a discrete-event simulation with the loop's rules: update u trains on prompt "
          + "batch u, batch u+max_lag is published after version u, actors swap versions between "
          + "batches, prompts reach actors through the prompt topic's partitions) from measured "
          + "costs, asynchronous and --sync (max_lag 0); the actor count that saturates one learner; "
          + "and the model size at which weights publish-to-apply exceeds a PPO step. Costs default "
          + "to bench-small as `rlhf bench` measured it on the idle machine; --bench takes a `rlhf "
          + "bench` output, --costs a JSON file of cost keys (actor_rollouts_per_s, "
          + "actor_batch_overhead_s, learner_update_s, learner_checkpoint_s, publish_s, "
          + "publish_to_apply_s, actor_load_s, broker_ingest_s, broker_serve_s, max_lag, "
          + "prompts_per_batch, responses_per_prompt, max_prompts_per_actor_batch, "
          + "prompt_partitions, actor_cores, updates), --set KEY=VALUE one key.",
      "The broker is free by default (publish_s and publish_to_apply_s include it). With "
          + "broker_ingest_s or broker_serve_s above 0 it is work of its own, in CPU-seconds on "
          + "the actors' cores (actor_cores; with 0, on a core of its own): ingesting a version "
          + "after the learner's publish_s (the learner's publish ends when it is done), then one "
          + "copy per actor (serving, receiving, assembling; the version reaches that actor when "
          + "its copy is done), each sharing the cores evenly with the sampling actors; "
          + "publish_to_apply_s is then not used.",
      "With --validate: runs the loop as pinned processes (learner on one CPU, broker and 1, 2 "
          + "and 3 actors sharing another, async and --sync; each pinned by its --cpus), measures "
          + "each run's costs (rollout timestamps, the learner's and actors' logs, the broker's "
          + "ingest and copies read from them, every process's CPU time from the OS) and prints "
          + "the model's prediction beside every run, from the first run's costs and from its "
          + "own. One more 1-actor run, whose actor samples at most 2 prompts (4 rows) at once, "
          + "is used only for the actor's costs: its time per batch, overhead + rows ÷ rate, is "
          + "the line through both 1-actor runs' batches (the broker's CPU taken out of them). "
          + "--validate-from DIR predicts saved runs (without that run: no overhead, as before)."
    })
public final class ScaleModelCommand implements Callable<Integer> {
  private static final ObjectMapper SNAKE =
      new ObjectMapper().setPropertyNamingStrategy(PropertyNamingStrategies.SNAKE_CASE);

  /**
   * The numbers of a {@code rlhf bench} output the scale model reads ({@link LoopCosts#withBench}
   * and {@link #weightPath}), as paths: a --bench file must hold every one, since one it lacked
   * would silently keep the built-in cost.
   */
  static final List<String> BENCH_KEYS =
      List.of(
          "params",
          "ppo_step_ms",
          "stream_rollouts_per_s",
          "weights_publish_to_apply_ms",
          "weights_phases_ms.encode",
          "weights_phases_ms.publish_until_acked",
          "weights_phases_ms.actor_load",
          "stream_setup.prompts_per_batch",
          "stream_setup.responses_per_prompt",
          "stream_setup.snapshot_bytes");

  /** The most actors a row simulates: a loop has at most this many prompt partitions. */
  static final int MAX_ACTORS = io.streamrlhf.learner.config.PpoConfig.MAX_PROMPT_PARTITIONS;

  /** How often a long simulation says how far it got. */
  private static final java.time.Duration PROGRESS_EVERY = java.time.Duration.ofSeconds(10);

  /** The fastest learner the weight path's crossing is computed for (GFLOP/s). */
  static final double MAX_GFLOPS = 1e12;

  @Spec CommandSpec spec;

  @Option(
      names = "--bench",
      paramLabel = "FILE",
      description =
          "A `rlhf bench` JSON output to take the costs from (a full one: --only weights lacks the"
              + " actor's throughput and the stream setup).")
  Path bench;

  @Option(
      names = "--costs",
      paramLabel = "FILE",
      description = "A JSON file of cost keys (see above).")
  Path costsFile;

  @Option(
      names = "--set",
      paramLabel = "KEY=VALUE",
      description = "One cost key (after --bench and --costs), e.g. --set max_lag=2.")
  List<String> sets = new ArrayList<>();

  @Option(
      names = "--actors",
      paramLabel = "COUNTS",
      split = ",",
      description = "Actor counts to simulate: numbers and ranges, e.g. 1-64 or 1,2,4.")
  List<String> actors = List.of("1-4", "6", "8", "12", "16", "24", "32", "48", "64");

  @Option(
      names = "--saturated-idle",
      paramLabel = "FRACTION",
      description = "A learner idle at most this fraction counts as saturated.")
  double saturatedIdle = 0.05;

  @Option(
      names = "--learner-gflops",
      paramLabel = "GFLOPS",
      split = ",",
      description =
          "Learner speeds (achieved GFLOP/s) for the weight path's crossing; 0: the measured one.")
  List<Double> learnerGflops = List.of(0.0, 1e3, 1e4, 1e5, 1e6);

  @Option(
      names = "--seed",
      paramLabel = "SEED",
      description = "Seed of the simulated run id (prompt partitions).")
  long seed = 1;

  @Option(
      names = "--validate",
      description =
          "Run the loop as pinned processes and print predicted vs measured (minutes; needs 2 CPUs).")
  boolean validate;

  @Option(
      names = "--validate-dir",
      paramLabel = "DIR",
      description =
          "With --validate: where the runs write, kept for --validate-from (default: a temporary"
              + " directory, deleted at the end: the runs take hundreds of MB).")
  Path validateDir;

  @Option(
      names = "--validate-updates",
      paramLabel = "N",
      description = "With --validate: updates per run.")
  int validateUpdates = 30;

  @Option(
      names = "--validate-from",
      paramLabel = "DIR",
      description =
          "Predict the runs an earlier --validate saved in this directory (its --validate-dir)"
              + " again, without running them.")
  Path validateFrom;

  @Option(
      names = "--warmup",
      paramLabel = "VERSION",
      description =
          "Validation: compare throughput and learner idle from this version on (the first"
              + " updates pay JIT and first-touch costs).")
  int warmup = 5;

  @Option(
      names = "--learner-cpus",
      paramLabel = "LIST",
      description = "With --validate: the learner's CPU list (taskset's spelling).")
  String learnerCpus = "1";

  @Option(
      names = "--actor-cpus",
      paramLabel = "LIST",
      description = "With --validate: the actors' CPU list.")
  String actorCpus = "0";

  @Override
  public Integer call() throws Exception {
    var out = spec.commandLine().getOut();
    if (validate || validateFrom != null) {
      GivenFlags.refuse(
          spec,
          "the validation measures its own costs and actor counts",
          "--bench",
          "--costs",
          "--set",
          "--actors",
          "--saturated-idle",
          "--learner-gflops");
      if (validate && validateFrom != null)
        throw new UserError(
            "--validate runs the loops, --validate-from reads them: one of the two");
      if (warmup < 0) throw new UserError("--warmup must be 0 or more, got " + warmup);
      // the steady state is measured from v{warmup}'s publish to a later one's, and one more
      if (validate && validateUpdates < warmup + 2)
        throw new UserError(
            "--validate-updates must be at least --warmup + 2 ("
                + (warmup + 2)
                + "), got "
                + validateUpdates);
      if (validateDir != null) StageOptions.requireNotAFile("--validate-dir", validateDir);
      if (validate && !onPath("taskset"))
        throw new UserError("--validate pins its processes with taskset (util-linux): not found");
      if (validate) {
        var learnerSet = CpuOptions.check("--learner-cpus", learnerCpus);
        var actorSet = CpuOptions.check("--actor-cpus", actorCpus);
        var shared = (java.util.BitSet) learnerSet.cpus().clone();
        shared.and(actorSet.cpus());
        if (!shared.isEmpty())
          throw new UserError(
              String.format(
                  "--learner-cpus %s and --actor-cpus %s share CPU %d: the validation measures the"
                      + " learner apart from the actors and the broker",
                  learnerCpus, actorCpus, shared.nextSetBit(0)));
      }
      if (validateFrom != null && !Files.isDirectory(validateFrom))
        throw new UserError("--validate-from: no directory " + validateFrom);
      if (validateFrom != null) {
        requireSavedRuns(validateFrom);
        int saved;
        try {
          saved = ScaleValidation.savedUpdates(validateFrom);
        } catch (IOException e) {
          throw new UserError(
              String.format(
                  "--validate-from %s: %s is not the stream statistics a learner writes (%s)",
                  validateFrom,
                  ScaleValidation.savedLearner().resolve(StreamStats.FILE),
                  e.getMessage().lines().findFirst().orElse("")));
        }
        if (saved < 2)
          throw new UserError(
              String.format(
                  "--validate-from %s: its runs have %d updates, too few for a steady state: run"
                      + " --validate again with --validate-updates 7 or more",
                  validateFrom, saved));
        if (saved < warmup + 2)
          throw new UserError(
              String.format(
                  "--warmup %d: the runs in %s have %d updates, and the steady state needs two"
                      + " after the warm-up: give --warmup %d or less",
                  warmup, validateFrom, saved, saved - 2));
      }
      // the runs go to --validate-dir (kept) or to a temporary directory deleted at the end
      Path dir = validateFrom != null ? validateFrom : validateDir;
      boolean kept = dir != null;
      if (!kept) dir = Files.createTempDirectory("rlhf-scale-");
      Runnable removal = kept ? () -> {} : TemporaryDirectories.removedAtExit(dir, "scale-model");
      try {
        new ScaleValidation(
                dir, validateUpdates, learnerCpus, actorCpus, seed, warmup, validate, out)
            .run();
      } finally {
        removal.run();
      }
      if (!kept)
        out.printf(
            "scale-model: deleted the runs in %s (--validate-dir DIR keeps them for"
                + " --validate-from)%n",
            dir);
      return 0;
    }
    GivenFlags.refuse(
        spec,
        "without --validate or --validate-from nothing runs",
        "--validate-dir",
        "--validate-updates",
        "--warmup",
        "--learner-cpus",
        "--actor-cpus");
    var benchJson = bench == null ? null : benchJson(bench);
    var costs = costs(benchJson);
    if (!(saturatedIdle >= 0 && saturatedIdle <= 1)) { // NaN too
      throw new UserError("--saturated-idle must be within 0..1, got " + saturatedIdle);
    }
    for (double g : learnerGflops) {
      if (!(g >= 0 && g <= MAX_GFLOPS))
        throw new UserError(
            "--learner-gflops: speeds are 0 (the measured one) up to 1e12 GFLOP/s, got " + g);
    }
    var counts = counts(actors);
    out.printf(
        "costs: %s%n", SNAKE.writerWithDefaultPrettyPrinter().writeValueAsString(costs).strip());
    List<ScaleTable.Row> results;
    try {
      var err = spec.commandLine().getErr();
      long started = System.nanoTime();
      long[] said = {started};
      results =
          ScaleTable.simulate(
              costs,
              counts,
              seed,
              done -> {
                long now = System.nanoTime();
                if (now - said[0] < PROGRESS_EVERY.toNanos() || done == counts.size()) return;
                said[0] = now;
                err.printf(
                    "scale-model: simulated %d of %d actor counts (%s)%n",
                    done,
                    counts.size(),
                    io.streamrlhf.schemas.transport.Durations.readable(
                        java.time.Duration.ofNanos(now - started)));
                err.flush();
              });
    } catch (IllegalStateException stalled) {
      if (!String.valueOf(stalled.getMessage()).startsWith("the loop stalls")) throw stalled;
      throw new UserError(
          "costs: " + stalled.getMessage() + " in the simulation: a cost too large for its clock");
    }
    ScaleTable.print(costs, results, saturatedIdle, out);
    out.println();
    var path = WeightPath.benchSmall();
    if (benchJson != null) path = weightPath(benchJson, path);
    path = path.withCosts(costs); // what --costs and --set changed, as the table above used it
    var flops = learnerGflops.stream().mapToDouble(g -> g * 1e9).toArray();
    ScaleTable.printWeightPath(path, flops, out);
    return 0;
  }

  private LoopCosts costs(JsonNode benchJson) throws IOException {
    var costs = LoopCosts.benchSmall();
    if (benchJson != null) costs = costs.withBench(benchJson);
    ObjectNode node = SNAKE.valueToTree(costs);
    if (costsFile != null) {
      var overrides = readJson(costsFile);
      if (!overrides.isObject()) throw new UserError(costsFile + ": expected a JSON object");
      var fields = overrides.fields();
      while (fields.hasNext()) {
        var field = fields.next();
        set(node, field.getKey(), field.getValue().asText(), costsFile.toString());
      }
    }
    for (var s : sets) {
      int eq = s.indexOf('=');
      if (eq <= 0) throw new UserError("--set expects KEY=VALUE, got '" + s + "'");
      set(node, s.substring(0, eq).strip(), s.substring(eq + 1).strip(), "--set");
    }
    try {
      return SNAKE.treeToValue(node, LoopCosts.class);
    } catch (IOException | IllegalArgumentException e) {
      var cause = e.getCause() instanceof IllegalArgumentException iae ? iae : e;
      throw new UserError("costs: " + cause.getMessage().lines().findFirst().orElse(""));
    }
  }

  /** The cost keys that count something (max_lag, actor_cores, ...), by the record's types. */
  private static final java.util.Set<String> COUNTS =
      java.util.Arrays.stream(LoopCosts.class.getRecordComponents())
          .filter(c -> c.getType() == int.class || c.getType() == long.class)
          .map(c -> SNAKE.getPropertyNamingStrategy().nameForField(null, null, c.getName()))
          .collect(java.util.stream.Collectors.toUnmodifiableSet());

  private static void set(ObjectNode node, String key, String value, String where) {
    if (!node.has(key)) {
      var nearest = io.streamrlhf.learner.config.ConfigLoader.nearest(key, keys(node));
      throw new UserError(
          where
              + ": unknown cost key '"
              + key
              + (nearest != null
                  ? "'; did you mean '" + nearest + "'?"
                  : "'; known: " + String.join(", ", keys(node))));
    }
    double number;
    try {
      // a decimal as JSON writes one: Java's own parser also takes 2d, 0x1p1 and NaN
      number = new BigDecimal(value).doubleValue();
    } catch (NumberFormatException e) {
      number = Double.NaN;
    }
    if (!Double.isFinite(number)) { // 1e400 is a decimal, but no double
      throw new UserError(where + ": " + key + " must be a number, got '" + value + "'");
    }
    if (!COUNTS.contains(key)) {
      node.put(key, number);
      return;
    }
    // a count taken as 1.5 would be read as 1, a different question; 2.0 is 2
    if (number != Math.rint(number) || Math.abs(number) > Integer.MAX_VALUE)
      throw new UserError(where + ": " + key + " must be a whole number, got '" + value + "'");
    node.put(key, (long) number);
  }

  private static List<String> keys(ObjectNode node) {
    var keys = new ArrayList<String>();
    node.fieldNames().forEachRemaining(keys::add);
    return keys;
  }

  /** Refuses a --validate-from directory without the runs an earlier --validate saved there. */
  private static void requireSavedRuns(Path dir) {
    var missing = ScaleValidation.missingSavedRuns(dir);
    if (missing.isEmpty()) return;
    var runs = ScaleValidation.savedRunDirectories();
    var files = ScaleValidation.savedFiles();
    throw new UserError(
        "--validate-from "
            + dir
            + ": not the --validate-dir of an earlier scale-model --validate, which saves its runs"
            + " there ("
            + String.join(", ", runs.subList(0, runs.size() - 1))
            + " and "
            + runs.get(runs.size() - 1)
            + ", each with "
            + String.join(", ", files.subList(0, files.size() - 1))
            + " and "
            + files.get(files.size() - 1)
            + "); missing "
            + missing.get(0)
            + (missing.size() > 1 ? " and " + (missing.size() - 1) + " more" : ""));
  }

  /** A `rlhf bench` output with every one of {@link #BENCH_KEYS}, or the user's mistake. */
  static JsonNode benchJson(Path file) {
    var node = readJson(file);
    if (!node.isObject())
      throw new UserError(file + ": expected a JSON object, the output of rlhf bench");
    var missing = new ArrayList<String>();
    for (var key : BENCH_KEYS) {
      var value = node.at("/" + key.replace('.', '/'));
      if (value.isMissingNode() || value.isNull()) missing.add(key);
      else if (!value.isNumber())
        throw new UserError(
            file
                + ": "
                + key
                + " must be a number, got '"
                + (value.isValueNode() ? value.asText() : value.toString())
                + "'");
    }
    if (!missing.isEmpty())
      throw new UserError(
          file
              + ": missing bench keys "
              + String.join(", ", missing)
              + "; --bench takes a full rlhf bench output (--set or --costs set single costs)");
    return node;
  }

  /** One JSON value, the whole file (a JSON lines file is not one), or the user's mistake. */
  private static JsonNode readJson(Path file) {
    try (var parser = SNAKE.createParser(Files.newInputStream(file))) {
      // a key given twice would keep its last value unseen
      parser.enable(com.fasterxml.jackson.core.JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
      JsonNode node = SNAKE.readTree(parser);
      if (node == null) return MissingNode.getInstance(); // an empty file
      if (parser.nextToken() != null)
        throw new UserError(
            file
                + ": a second JSON value at line "
                + parser.currentLocation().getLineNr()
                + "; expected one JSON object");
      return node;
    } catch (NoSuchFileException e) {
      throw new UserError("no such file: " + file);
    } catch (JsonProcessingException e) {
      var at = e.getLocation();
      throw new UserError(
          "cannot read "
              + file
              + " as JSON: "
              // Jackson's start marker names a source it was told to redact: the file is named
              + e.getOriginalMessage()
                  .lines()
                  .findFirst()
                  .orElse("")
                  .replaceFirst(" \\(start marker at \\[Source: .*", "")
              + (at == null
                  ? ""
                  : " (line " + at.getLineNr() + ", column " + at.getColumnNr() + ")"));
    } catch (IOException e) {
      throw new UserError("cannot read " + file + " as JSON: " + e);
    }
  }

  /** The weight path of a bench output: its params, snapshot bytes, phases and PPO step. */
  static WeightPath weightPath(JsonNode bench, WeightPath otherwise) {
    var phases = bench.path("weights_phases_ms");
    double p2a =
        bench.path("weights_publish_to_apply_ms").asDouble(otherwise.publishToApplyS() * 1e3);
    double moved =
        phases.path("encode").asDouble(0)
            + phases.path("publish_until_acked").asDouble(0)
            + phases.path("actor_load").asDouble(0);
    double fixed = moved > 0 && moved < p2a ? (p2a - moved) / 1e3 : otherwise.fixedS();
    return new WeightPath(
        bench.path("params").asLong(otherwise.params()),
        bench.path("stream_setup").path("snapshot_bytes").asLong(otherwise.snapshotBytes()),
        p2a / 1e3,
        fixed,
        bench.path("ppo_step_ms").asDouble(otherwise.ppoStepS() * 1e3) / 1e3,
        otherwise.tokensPerUpdate(),
        0);
  }

  private static boolean onPath(String program) {
    var path = System.getenv("PATH");
    if (path == null) return false;
    for (var dir : path.split(java.io.File.pathSeparator))
      if (Files.isExecutable(Path.of(dir, program))) return true;
    return false;
  }

  /**
   * "1-4,8" → 1, 2, 3, 4, 8: ascending, each once (the table's rows, and the saturation line's
   * "fewest", follow this order).
   */
  static List<Integer> counts(List<String> specs) {
    var counts = new java.util.TreeSet<Integer>();
    for (var spec : specs) {
      int from;
      int to;
      try {
        int dash = spec.indexOf('-');
        from = Integer.parseInt(dash < 0 ? spec.strip() : spec.substring(0, dash).strip());
        to = dash < 0 ? from : Integer.parseInt(spec.substring(dash + 1).strip());
        if (from < 1 || to < from) throw new NumberFormatException();
      } catch (NumberFormatException e) {
        throw new UserError(
            "--actors: expected counts >= 1 or ranges like 1-64, got '" + spec + "'");
      }
      // past the prompt partitions' own cap an actor has no partition to sample from
      if (to > MAX_ACTORS) {
        throw new UserError(
            "--actors: at most "
                + MAX_ACTORS
                + " actors (the most prompt partitions a loop can have), got '"
                + spec
                + "'");
      }
      for (int n = from; n <= to; n++) counts.add(n);
    }
    return List.copyOf(counts);
  }
}
