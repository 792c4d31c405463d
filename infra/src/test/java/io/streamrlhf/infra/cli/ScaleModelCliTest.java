package io.streamrlhf.infra.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamrlhf.learner.stream.StreamStats;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code rlhf scale-model}: the table from the default costs, and one line for a wrong key. */
class ScaleModelCliTest {
  @Test
  void printsTheTableTheSaturationAndTheWeightPath() {
    var run = CliRun.run("scale-model", "--actors", "1-3", "--set", "updates=150");
    assertThat(run.exitCode()).isZero();
    assertThat(run.out())
        .contains("\"updates\" : 150")
        .contains("learner-bound ceiling")
        .contains("saturation: 2 actor(s)")
        .contains("tenth of the updates); 1 did not")
        .contains("apply/step for large p");
    // one row per actor count
    assertThat(run.out().lines().filter(l -> l.matches("^\\s+[123]\\s+[123] \\|.*"))).hasSize(3);
  }

  /** The weight path's step and publish-to-apply are the costs the table used, --set included. */
  @Test
  void theWeightPathFollowsTheCostsGiven() {
    var run =
        CliRun.run(
            "scale-model",
            "--actors",
            "1",
            "--set",
            "learner_update_s=1.0",
            "--set",
            "publish_to_apply_s=2.0");
    assertThat(run.exitCode()).as(run.err()).isZero();
    // the fixed part keeps its share of bench-small's 153 ms: 34.5 x 2000 / 153
    assertThat(run.out()).containsPattern("publish-to-apply 2000 ms \\(451 ms fixed \\+");
    assertThat(run.out()).contains("PPO step 1000 ms on 1536 tokens");

    // one shorter than bench-small's fixed part leaves a path for the bytes, not Infinity
    var fast = CliRun.run("scale-model", "--actors", "1", "--set", "publish_to_apply_s=0.03");
    assertThat(fast.exitCode()).as(fast.err()).isZero();
    assertThat(fast.out()).contains("publish-to-apply 30 ms").doesNotContain("Infinity");
  }

  /** Counts given out of order are simulated in order, so "the fewest" is the fewest. */
  @Test
  void countsOutOfOrderAreSimulatedAscending() {
    var run = CliRun.run("scale-model", "--actors", "3,1-2,2", "--set", "updates=150");
    assertThat(run.exitCode()).isZero();
    assertThat(run.out()).contains("saturation: 2 actor(s)").contains("; 1 did not");
    var rows = run.out().lines().filter(l -> l.matches("^\\s+[123]\\s+[123] \\|.*")).toList();
    assertThat(rows).hasSize(3);
    assertThat(rows.get(0).strip()).startsWith("1 ");
    assertThat(rows.get(2).strip()).startsWith("3 ");
  }

  /** Only counts that all saturate: the fewest of them is no answer to how few would. */
  @Test
  void aSaturationAtTheFirstCountSimulatedSaysFewerWereNotTried() {
    var run = CliRun.run("scale-model", "--actors", "8", "--set", "updates=150");
    assertThat(run.exitCode()).isZero();
    assertThat(run.out())
        .contains("saturation: 8 actor(s) keep one learner busy")
        .contains("; no fewer were simulated (--actors)");
  }

  @Test
  void anUnknownCostKeyIsOneLineAndExitCode2() {
    var run = CliRun.run("scale-model", "--set", "actor_speed=3");
    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err().strip())
        .startsWith("rlhf scale-model: --set: unknown cost key 'actor_speed'")
        .doesNotContain("Exception");
    var misspelt = CliRun.run("scale-model", "--set", "max_lagg=3");
    assertThat(misspelt.err().strip())
        .isEqualTo("rlhf scale-model: --set: unknown cost key 'max_lagg'; did you mean 'max_lag'?");
    var bad = CliRun.run("scale-model", "--set", "max_lag=-1");
    assertThat(bad.exitCode()).isEqualTo(2);
    assertThat(bad.err()).contains("max_lag must be >= 0");
    // one update leaves no steady state to measure: refused, not a crash after the table
    var one = CliRun.run("scale-model", "--set", "updates=1", "--actors", "1");
    assertThat(one.exitCode()).isEqualTo(2);
    assertThat(one.err()).contains("updates must be >= 2, got 1").doesNotContain("\tat ");
  }

  /** Jackson's message named its source "REDACTED"; the file is named, with where it broke. */
  @Test
  void anUnclosedCostsFileIsNamedWithItsLine(@TempDir Path dir) throws IOException {
    var costs = Files.writeString(dir.resolve("costs.json"), "{\"max_lag\": 2");
    var run = CliRun.run("scale-model", "--costs", costs.toString());
    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err().strip())
        .isEqualTo(
            "rlhf scale-model: cannot read "
                + costs
                + " as JSON: Unexpected end-of-input: expected close marker for Object (line 1,"
                + " column 14)");
  }

  @Test
  void aFractionForACountIsRefusedNotTruncated(@TempDir Path dir) throws IOException {
    var run = CliRun.run("scale-model", "--set", "max_lag=1.5", "--actors", "1");
    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err().strip())
        .isEqualTo("rlhf scale-model: --set: max_lag must be a whole number, got '1.5'");
    assertThat(run.out()).isEmpty();

    var costs = Files.writeString(dir.resolve("costs.json"), "{\"actor_cores\": 2.5}");
    run = CliRun.run("scale-model", "--costs", costs.toString(), "--actors", "1");
    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err().strip())
        .isEqualTo(
            "rlhf scale-model: " + costs + ": actor_cores must be a whole number, got '2.5'");

    for (var notDecimal : List.of("two", "2d", "0x1p1", "NaN", "1e400")) {
      run = CliRun.run("scale-model", "--set", "max_lag=" + notDecimal, "--actors", "1");
      assertThat(run.err().strip())
          .isEqualTo("rlhf scale-model: --set: max_lag must be a number, got '" + notDecimal + "'");
    }

    // a rate may be a fraction, after a costs file gave it a whole one; a count may be 2.0
    var rates = Files.writeString(dir.resolve("rates.json"), "{\"actor_rollouts_per_s\": 12}");
    run =
        CliRun.run(
            "scale-model",
            "--costs",
            rates.toString(),
            "--set",
            "actor_rollouts_per_s=12.5",
            "--set",
            "max_lag=2.0",
            "--actors",
            "1");
    assertThat(run.out()).contains("\"actor_rollouts_per_s\" : 12.5").contains("\"max_lag\" : 2,");
    assertThat(run.exitCode()).as(run.err()).isZero();
  }

  @Test
  void flagsOfTheOtherModeAreRefusedNotIgnored(@TempDir Path dir) {
    var validation =
        CliRun.run(
            "scale-model",
            "--validate-from",
            dir.toString(),
            "--set",
            "updates=150",
            "--actors",
            "2");
    assertThat(validation.exitCode()).isEqualTo(2);
    assertThat(validation.err().strip())
        .isEqualTo(
            "rlhf scale-model: the validation measures its own costs and actor counts: drop --set"
                + " and --actors");
    var model = CliRun.run("scale-model", "--actors", "1", "--learner-cpus", "0");
    assertThat(model.exitCode()).isEqualTo(2);
    assertThat(model.err().strip())
        .isEqualTo(
            "rlhf scale-model: without --validate or --validate-from nothing runs: drop"
                + " --learner-cpus");
    assertThat(model.out()).doesNotContain("costs:");
  }

  @Test
  void aNegativeLearnerSpeedIsRefusedBeforeTheTable() {
    var run = CliRun.run("scale-model", "--actors", "1", "--learner-gflops", "0,-5");

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err().strip())
        .isEqualTo(
            "rlhf scale-model: --learner-gflops: speeds are 0 (the measured one) up to 1e12"
                + " GFLOP/s, got -5.0");
    assertThat(run.out()).isEmpty();
  }

  @Test
  void valuesTheModelCannotComputeWithAreRefusedInOneLine() {
    record Case(List<String> args, String says) {}
    for (var c :
        List.of(
            // the range's end once wrapped an int loop; past 1024 no partition is left to sample
            new Case(
                List.of("--actors", "1-2147483647"),
                "--actors: at most 1024 actors (the most prompt partitions a loop can have), got"
                    + " '1-2147483647'"),
            new Case(
                List.of("--actors", "1", "--saturated-idle", "NaN"),
                "--saturated-idle must be within 0..1, got NaN"),
            new Case(
                List.of("--actors", "1", "--learner-gflops", "1e308"),
                "--learner-gflops: speeds are 0 (the measured one) up to 1e12 GFLOP/s, got"
                    + " 1.0E308"),
            new Case(
                List.of("--actors", "1", "--set", "publish_to_apply_s=1e308"),
                "costs: the loop stalls at update 5, t = 1.0E308 s in the simulation: a cost too"
                    + " large for its clock"))) {
      var args = new java.util.ArrayList<>(List.of("scale-model"));
      args.addAll(c.args());
      var run = CliRun.run(args.toArray(String[]::new));
      assertThat(run.exitCode()).as(c.args().toString()).isEqualTo(2);
      assertThat(run.err().strip()).isEqualTo("rlhf scale-model: " + c.says());
    }
  }

  @Test
  void aCostGivenTwiceInACostsFileIsRefused(@TempDir Path dir) throws IOException {
    var costs = Files.writeString(dir.resolve("costs.json"), "{\"max_lag\": 2, \"max_lag\": 3}");
    var run = CliRun.run("scale-model", "--actors", "1", "--costs", costs.toString());
    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err().strip())
        .startsWith(
            "rlhf scale-model: cannot read " + costs + " as JSON: Duplicate field 'max_lag'");
  }

  @Test
  void validateRefusesCpuListsItsProcessesCouldNotBePinnedTo(@TempDir Path dir) {
    // the CPU checks come after the one for taskset, and the shared CPU must be one allowed here
    org.junit.jupiter.api.Assumptions.assumeTrue(
        java.util.Arrays.stream(System.getenv("PATH").split(":"))
            .anyMatch(d -> Files.isExecutable(Path.of(d, "taskset"))),
        "taskset (util-linux) on PATH");
    org.junit.jupiter.api.Assumptions.assumeTrue(
        io.streamrlhf.infra.affinity.CpuSet.allowed().cpus().get(0), "CPU 0 allowed");
    var outside = CliRun.run("scale-model", "--validate", "--actor-cpus", "4096");
    assertThat(outside.exitCode()).isEqualTo(2);
    assertThat(outside.err().strip())
        .startsWith("rlhf scale-model: --actor-cpus 4096: not within the CPUs this machine allows");
    var shared =
        CliRun.run(
            "scale-model",
            "--validate",
            "--validate-dir",
            dir.resolve("runs").toString(),
            "--learner-cpus",
            "0",
            "--actor-cpus",
            "0");
    assertThat(shared.exitCode()).isEqualTo(2);
    assertThat(shared.err().strip())
        .isEqualTo(
            "rlhf scale-model: --learner-cpus 0 and --actor-cpus 0 share CPU 0: the validation"
                + " measures the learner apart from the actors and the broker");
    assertThat(dir.resolve("runs")).as("nothing written").doesNotExist();
  }

  @Test
  void aTemporaryDirectoryIsDeletedWhenTheCommandEnds(@TempDir Path dir) throws IOException {
    var runs = Files.createDirectories(dir.resolve("rlhf-scale-x").resolve("run-1").resolve("a"));
    Files.writeString(runs.resolve("broker.log"), "x".repeat(1000));
    TemporaryDirectories.removedAtExit(dir.resolve("rlhf-scale-x"), "scale-model").run();
    assertThat(dir.resolve("rlhf-scale-x")).doesNotExist();
    assertThat(dir).exists();
  }

  @Test
  void aBenchFileIsRefusedUnlessItHoldsEveryBenchKeyTheModelReads(@TempDir Path dir)
      throws IOException {
    var all =
        "params, ppo_step_ms, stream_rollouts_per_s, weights_publish_to_apply_ms,"
            + " weights_phases_ms.encode, weights_phases_ms.publish_until_acked,"
            + " weights_phases_ms.actor_load, stream_setup.prompts_per_batch,"
            + " stream_setup.responses_per_prompt, stream_setup.snapshot_bytes";
    var files =
        new String[][] {
          {"empty.json", "", "FILE: expected a JSON object, the output of rlhf bench"},
          {"list.json", "[1, 2]", "FILE: expected a JSON object, the output of rlhf bench"},
          {"other.json", "{\"foo\": 1}", "FILE: missing bench keys " + all},
          {
            "lines.jsonl",
            "{\"ppo_step_ms\": 1}\n{\"params\": 2}\n",
            "FILE: a second JSON value at line 2; expected one JSON object"
          },
          {
            "weights-only.json",
            "{\"ppo_step_ms\": 500, \"weights_publish_to_apply_ms\": 200, \"weights_phases_ms\":"
                + " {\"encode\": 10, \"publish_until_acked\": 20, \"actor_load\": 30}}",
            "FILE: missing bench keys params, stream_rollouts_per_s, stream_setup.prompts_per_batch,"
                + " stream_setup.responses_per_prompt, stream_setup.snapshot_bytes"
          },
          {
            "text.json",
            FULL_BENCH.replace("123.5", "\"fast\""),
            "FILE: stream_rollouts_per_s must be a number, got 'fast'"
          }
        };
    for (var f : files) {
      var file = Files.writeString(dir.resolve(f[0]), f[1]);

      var run = CliRun.run("scale-model", "--bench", file.toString(), "--actors", "1");

      assertThat(run.exitCode()).as(f[0]).isEqualTo(2);
      assertThat(run.err().strip())
          .as(f[0])
          .startsWith("rlhf scale-model: " + f[2].replace("FILE", file.toString()));
      assertThat(run.err().strip()).as(f[0]).doesNotContain("\n");
      assertThat(run.out()).as(f[0]).isEmpty();
    }
  }

  @Test
  void aCostsFileIsOneJsonObject(@TempDir Path dir) throws IOException {
    var empty = Files.writeString(dir.resolve("empty.json"), "");
    var lines =
        Files.writeString(dir.resolve("costs.jsonl"), "{\"max_lag\": 1}\n{\"updates\": 9}\n");

    var run = CliRun.run("scale-model", "--costs", empty.toString(), "--actors", "1");
    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err().strip())
        .isEqualTo("rlhf scale-model: " + empty + ": expected a JSON object");

    run = CliRun.run("scale-model", "--costs", lines.toString(), "--actors", "1");
    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err().strip())
        .isEqualTo(
            "rlhf scale-model: "
                + lines
                + ": a second JSON value at line 2; expected one JSON object");
  }

  @Test
  void aFullBenchFileGivesTheCosts(@TempDir Path dir) throws IOException {
    var file = Files.writeString(dir.resolve("bench.json"), FULL_BENCH);

    var run = CliRun.run("scale-model", "--bench", file.toString(), "--actors", "1");

    assertThat(run.exitCode()).isZero();
    assertThat(run.out())
        .contains("\"actor_rollouts_per_s\" : 123.5")
        .contains("\"learner_update_s\" : 0.5")
        .contains("\"publish_to_apply_s\" : 0.2");
  }

  /** A `rlhf bench` output cut to the keys the scale model reads. */
  private static final String FULL_BENCH =
      "{\"shape\": \"bench-small\", \"params\": 1000000, \"ppo_step_ms\": 500,"
          + " \"stream_rollouts_per_s\": 123.5, \"weights_publish_to_apply_ms\": 200,"
          + " \"weights_phases_ms\": {\"encode\": 10, \"publish_until_acked\": 20, \"actor_load\": 30},"
          + " \"stream_setup\": {\"prompts_per_batch\": 8, \"responses_per_prompt\": 2,"
          + " \"snapshot_bytes\": 4000000}}";

  @Test
  void validateFromADirectoryWithoutSavedRunsSaysWhatItMustHoldAndWritesNothing(@TempDir Path dir)
      throws IOException {
    var empty = Files.createDirectories(dir.resolve("empty"));

    var run = CliRun.run("scale-model", "--validate-from", empty.toString());

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err().strip())
        .isEqualTo(
            "rlhf scale-model: --validate-from "
                + empty
                + ": not the --validate-dir of an earlier scale-model --validate, which saves its"
                + " runs there (1-actor, 2-actors, 3-actors, 1-actor-sync, 2-actors-sync and"
                + " 3-actors-sync, each with transcript.txt, rollouts.csv and"
                + " learner/stream-stats.json); missing 1-actor/transcript.txt and 17 more");
    assertThat(run.out()).isEmpty();
    try (var files = Files.list(empty)) {
      assertThat(files).as("nothing written into it").isEmpty();
    }
  }

  @Test
  void validateFromNamesTheOneFileASavedRunLacks(@TempDir Path dir) throws IOException {
    for (var run : List.of("1-actor", "2-actors", "3-actors", "1-actor-sync", "2-actors-sync"))
      saveRun(dir.resolve(run));
    var last = saveRun(dir.resolve("3-actors-sync"));
    Files.delete(last.resolve("rollouts.csv"));

    var run = CliRun.run("scale-model", "--validate-from", dir.toString());

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err().strip()).endsWith("; missing 3-actors-sync/rollouts.csv");
  }

  @Test
  void aWarmupTheSavedOrRequestedRunsCannotAffordIsRefused(@TempDir Path dir) throws IOException {
    var saved = dir.resolve("saved");
    for (var run :
        List.of(
            "1-actor", "2-actors", "3-actors", "1-actor-sync", "2-actors-sync", "3-actors-sync"))
      saveRun(saved.resolve(run));
    var notStats = CliRun.run("scale-model", "--validate-from", saved.toString());
    assertThat(notStats.exitCode()).isEqualTo(2);
    assertThat(notStats.err().strip())
        .startsWith(
            "rlhf scale-model: --validate-from "
                + saved
                + ": 1-actor/learner/stream-stats.json is not the stream statistics a learner"
                + " writes (")
        .doesNotContain("\tat ");

    // 3 updates of 8 prompts x 2 responses
    new StreamStats.Summary(48, 0, 0, 0, 0, 0, 0, 0, 0, 1, null, null, null, 0, 0, 0, 0, null, null)
        .write(saved.resolve("1-actor/learner"));

    var from = CliRun.run("scale-model", "--validate-from", saved.toString());
    assertThat(from.exitCode()).isEqualTo(2);
    assertThat(from.err().strip())
        .isEqualTo(
            "rlhf scale-model: --warmup 5: the runs in "
                + saved
                + " have 3 updates, and the steady state needs two after the warm-up: give"
                + " --warmup 1 or less");

    var negative = CliRun.run("scale-model", "--validate-from", saved.toString(), "--warmup", "-1");
    assertThat(negative.exitCode()).isEqualTo(2);
    assertThat(negative.err().strip())
        .isEqualTo("rlhf scale-model: --warmup must be 0 or more, got -1");

    var validate =
        CliRun.run("scale-model", "--validate", "--validate-updates", "6", "--warmup", "5");
    assertThat(validate.exitCode()).isEqualTo(2);
    assertThat(validate.err().strip())
        .isEqualTo("rlhf scale-model: --validate-updates must be at least --warmup + 2 (7), got 6");

    var file = Files.writeString(dir.resolve("notes.txt"), "x");
    var intoFile = CliRun.run("scale-model", "--validate", "--validate-dir", file.toString());
    assertThat(intoFile.exitCode()).isEqualTo(2);
    assertThat(intoFile.err().strip())
        .isEqualTo("rlhf scale-model: --validate-dir " + file + " is a file: give a directory");
  }

  /** The files a run of --validate leaves, empty: all the check looks at. */
  private static Path saveRun(Path run) throws IOException {
    Files.createDirectories(run.resolve("learner"));
    for (var file : List.of("transcript.txt", "rollouts.csv", "learner/stream-stats.json"))
      Files.writeString(run.resolve(file), "");
    return run;
  }
}
