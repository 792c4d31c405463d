package io.streamrlhf.infra.cli;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;

import io.streamrlhf.infra.chaos.Scenarios;
import io.streamrlhf.infra.chaos.TinyModels;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

class ChaosCliTest {
  @Test
  void listNamesEveryScenarioAndWhichAreFast() {
    var run = CliRun.run("chaos", "--list");
    assertThat(run.exitCode()).isZero();
    for (var s : Scenarios.all())
      assertThat(run.out())
          .containsPattern("(?m)^" + s.name() + " +" + (s.fast() ? "fast" : "long") + " ");
  }

  @Test
  void noScenarioChosenIsTheUsersMistake(@TempDir Path dir) {
    var run = CliRun.run("chaos", "--out", dir.toString());
    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err()).contains("--scenario NAME, --fast or --all");
    var both = CliRun.run("chaos", "--fast", "--all", "--out", dir.toString());
    assertThat(both.exitCode()).isEqualTo(2);
    assertThat(both.err().strip())
        .isEqualTo(
            "rlhf chaos: --scenario, --fast and --all each choose the scenarios: give only one of"
                + " them");
  }

  @Test
  void anUnknownScenarioIsTheUsersMistake(@TempDir Path dir) {
    var run = CliRun.run("chaos", "--scenario", "meteor", "--out", dir.toString());
    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err()).contains("no scenario called 'meteor'").doesNotContain("Exception");
  }

  @Test
  void listTakesNoOtherFlagsAndAScenarioRunsOnce(@TempDir Path dir) {
    var list = CliRun.run("chaos", "--list", "--fast", "--out", dir.toString());
    assertThat(list.exitCode()).isEqualTo(2);
    assertThat(list.err().strip())
        .isEqualTo("rlhf chaos: --list only names the scenarios: drop --fast and --out");

    var twice =
        CliRun.run(
            "chaos", "--scenario", "poison", "--scenario", "poison", "--out", dir.toString());
    assertThat(twice.exitCode()).isEqualTo(2);
    assertThat(twice.err().strip())
        .isEqualTo("rlhf chaos: --scenario poison is given twice: each scenario runs once");
  }

  /** The real command in its own JVM, stopped by SIGTERM once its first scenario has begun. */
  @Test
  @Timeout(value = 3, unit = TimeUnit.MINUTES)
  void aSignalDuringAScenarioSaysWhichAndThatNoneEnded(@TempDir Path dir) throws Exception {
    var process =
        CliRun.inChildJvm(
                List.of(), "chaos", "--scenario", "poison", "--out", dir.resolve("out").toString())
            .redirectError(dir.resolve("stderr.txt").toFile())
            .start();
    var lines = new ArrayList<String>();
    try (var out = new BufferedReader(new InputStreamReader(process.getInputStream(), UTF_8))) {
      for (String line; (line = out.readLine()) != null; ) {
        lines.add(line);
        // SIGTERM (the Process.destroy() would also close the stream read here)
        if (line.startsWith("chaos: poison: ")) process.toHandle().destroy();
      }
    } finally {
      process.destroyForcibly();
    }
    assertThat(process.waitFor()).as("stopped by SIGTERM").isEqualTo(143);
    assertThat(lines)
        .as("stderr: %s", Files.readString(dir.resolve("stderr.txt")))
        .contains(
            "chaos: stopped by a signal during poison (its processes stop with it); no scenario"
                + " ended");
  }

  @Test
  void aRunNeedsAnOutputDirectory() {
    var run = CliRun.run("chaos", "--scenario", "poison");
    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err()).contains("--out DIR");
  }

  @Test
  void aRewardModelTrainedOnAnotherSftIsRefusedBeforeAnyProcessStarts(@TempDir Path dir)
      throws IOException {
    var models = TinyModels.write(dir.resolve("models"));
    var rm = models.resolve("rm");
    // as rlhf reward records it, naming an SFT model with other weights than --sft's
    Files.writeString(
        rm.resolve("inputs.json"),
        "{\"--sft\": {\"path\": \"/elsewhere/sft\", \"weights_sha256\": \""
            + "ab".repeat(32)
            + "\"}}");
    var out = dir.resolve("chaos");

    var run =
        CliRun.run(
            "chaos",
            "--scenario",
            "learner-kill",
            "--sft",
            models.resolve("sft").toString(),
            "--rm",
            rm.toString(),
            "--out",
            out.toString());

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err().strip())
        .startsWith("rlhf chaos: --rm " + rm + " was trained on the SFT model in /elsewhere/sft")
        .doesNotContain("\n");
    assertThat(out).doesNotExist();
  }

  @Test
  void anOutputThatIsAFileIsRefusedInOneLine(@TempDir Path dir) throws IOException {
    var file = Files.writeString(dir.resolve("somefile.jsonl"), "{}\n");

    var run = CliRun.run("chaos", "--scenario", "poison", "--out", file.toString());

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err().strip())
        .isEqualTo("rlhf chaos: --out " + file + " is a file: give a directory");
    assertThat(Files.readString(file)).isEqualTo("{}\n");
  }

  @Test
  void anOutputHoldingACheckpointOrAnotherProgramsFilesIsRefusedAndKept(@TempDir Path dir)
      throws IOException {
    // each scenario starts by deleting its own directory under --out
    var other = Files.createDirectories(dir.resolve("other").resolve("poison"));
    var kept = Files.writeString(other.resolve("important.txt"), "mine\n");

    var run = CliRun.run("chaos", "--scenario", "poison", "--out", dir.resolve("other").toString());

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err().strip())
        .isEqualTo(
            "rlhf chaos: --out "
                + dir.resolve("other")
                + " holds files that are not a chaos run's (no chaos.log), and each scenario"
                + " deletes its own directory there: give an empty or new directory");
    assertThat(kept).hasContent("mine\n");

    var sft = TinyModels.write(dir.resolve("models")).resolve("sft");
    var inCheckpoint = CliRun.run("chaos", "--fast", "--out", sft.toString());
    assertThat(inCheckpoint.exitCode()).isEqualTo(2);
    assertThat(inCheckpoint.err().strip())
        .isEqualTo(
            "rlhf chaos: --out "
                + sft
                + " is inside the checkpoint in "
                + sft.toAbsolutePath().normalize()
                + ": choose an --out outside it");
    assertThat(sft.resolve("chaos.log")).doesNotExist();
  }

  @Test
  void aChildHeapTheJvmWouldRefuseIsRefusedBeforeAnyChildStarts(@TempDir Path dir) {
    var out = dir.resolve("chaos");

    var run =
        CliRun.run("chaos", "--scenario", "poison", "--out", out.toString(), "--child-heap", "abc");

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err().strip())
        .isEqualTo(
            "rlhf chaos: --child-heap must be a JVM heap size such as 2g or 1536m, got 'abc'");
    assertThat(out).doesNotExist();
  }

  @Test
  void settingsTheSoakCouldNotMeasureWithAreRefusedBeforeAnyChildStarts(@TempDir Path dir) {
    var out = dir.resolve("chaos");
    record Case(List<String> args, String says) {}
    for (var c :
        List.of(
            // a bound of a million years overflowed the scenario's deadline: "chaos itself failed"
            new Case(
                List.of("--scenario", "soak", "--bound", "PT9999999999999H"),
                "durations must be positive and at most 7 days, got 35999999999996400 s"),
            new Case(
                List.of("--scenario", "soak", "--max-rss-slope", "-1"),
                "--max-rss-slope must be a number of MB/h above 0, got -1.0"),
            new Case(
                List.of("--scenario", "soak", "--max-rss-slope", "NaN"),
                "--max-rss-slope must be a number of MB/h above 0, got NaN"),
            // one sample after the warm-up: no slope, and the soak passed having checked nothing
            new Case(
                List.of("--scenario", "soak", "--soak", "PT2M", "--sample-every", "PT70S"),
                "--soak 120 s leaves too few RSS samples every 70 s for a slope after the"
                    + " warm-up: give a --soak at least 3 x --sample-every"))) {
      var args = new java.util.ArrayList<>(List.of("chaos", "--out", out.toString()));
      args.addAll(c.args());
      var run = CliRun.run(args.toArray(String[]::new));
      assertThat(run.exitCode()).as(c.args().toString()).isEqualTo(2);
      assertThat(run.err().strip()).isEqualTo("rlhf chaos: " + c.says());
      assertThat(out).doesNotExist();
    }
  }

  @Test
  void theUsageLineShowsThatARunNeedsOutAndListDoesNot() {
    var run = CliRun.run("chaos", "--help");

    assertThat(run.exitCode()).isZero();
    var usage = run.out().substring(0, run.out().indexOf("Runs fault scenarios"));
    assertThat(usage)
        .isEqualTo(
            "Usage: rlhf chaos (--scenario=NAME... | --fast | --all) --out=DIR [OPTION...]\n"
                + "   or: rlhf chaos --list\n");
  }
}
