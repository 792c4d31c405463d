package io.streamrlhf.infra.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamrlhf.infra.chaos.Scenarios;
import io.streamrlhf.infra.chaos.TinyModels;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
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
