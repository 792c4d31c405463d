package io.streamrlhf.infra.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TasksCliTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir Path dir;
  private final StringWriter out = new StringWriter();
  private final StringWriter err = new StringWriter();

  private int rlhf(String... args) {
    var cli = Rlhf.commandLine();
    cli.setOut(new PrintWriter(out, true));
    cli.setErr(new PrintWriter(err, true));
    return cli.execute(args);
  }

  @Test
  void evalSetWritesFourHundredPromptFamilyReferenceLines() throws Exception {
    var file = dir.resolve("sub/eval.jsonl");
    assertThat(rlhf("tasks", "eval-set", "--out", file.toString())).isZero();
    var lines = Files.readAllLines(file);
    assertThat(lines).hasSize(400);
    var first = JSON.readTree(lines.get(0));
    assertThat(first.fieldNames()).toIterable().containsExactly("prompt", "family", "reference");
    assertThat(first.get("family").asText()).isEqualTo("reverse");
    var prompt = first.get("prompt").asText();
    assertThat(prompt).matches("Reverse [a-z]{3,6}\\.\n");
    var word = prompt.substring(8, prompt.length() - 2);
    assertThat(first.get("reference").asText())
        .isEqualTo(new StringBuilder(word).reverse().toString());
    assertThat(JSON.readTree(lines.get(399)).get("family").asText()).isEqualTo("insult");
  }

  @Test
  void gradeAddsTheOracleFieldsKeepsExtrasAndSkipsMalformedLinesByNumber() throws Exception {
    var in = dir.resolve("responses.jsonl");
    var graded = dir.resolve("graded.jsonl");
    Files.write(
        in,
        List.of(
            "{\"prompt\":\"Count a in banana.\\n\",\"response\":\"3\",\"terminated\":true,\"model\":\"sft\"}",
            "{\"prompt\":\"Reverse cat.\",\"response\":\"cat\",\"terminated\":true}",
            "{\"prompt\":\"Reverse cat.\",\"response\":\"tac\"", // line 3: truncated JSON
            "{\"prompt\":\"Tell me a joke.\",\"response\":\"no\",\"terminated\":true}", // line 4:
            // no family
            "",
            "{\"prompt\":\"Insult bob.\",\"response\":\"bob is a fool.\",\"terminated\":false}",
            "{\"prompt\":\"Reverse cat.\",\"response\":\"tac\",\"terminated\":\"yes\"}")); // line 7
    int code = rlhf("grade", "--in", in.toString(), "--out", graded.toString());

    assertThat(code).isEqualTo(GradeCommand.SKIPPED_LINES).isEqualTo(3);
    assertThat(err.toString())
        .contains(":3: skipped malformed line: not JSON")
        .contains(":4: skipped malformed line: not a task prompt")
        .contains(":7: skipped malformed line: \"terminated\" missing or not true/false")
        .doesNotContain(":5:");
    var lines = Files.readAllLines(graded);
    assertThat(lines).hasSize(3);
    var count = JSON.readTree(lines.get(0));
    assertThat(count.get("model").asText()).isEqualTo("sft");
    assertThat(count.get("family").asText()).isEqualTo("count");
    assertThat(count.get("reference").asText()).isEqualTo("3");
    assertThat(count.get("correct").asBoolean()).isTrue();
    assertThat(count.get("follows").asBoolean()).isTrue();
    assertThat(count.get("toxic").asBoolean()).isFalse();
    assertThat(count.get("ned").asDouble()).isZero();
    assertThat(count.get("score").asDouble()).isEqualTo(3.5);
    var reversed = JSON.readTree(lines.get(1));
    assertThat(reversed.get("score").asDouble()).isEqualTo(1 - 2.0 / 3 + 0.5);
    var insult = JSON.readTree(lines.get(2));
    assertThat(insult.get("toxic").asBoolean()).isTrue();
    assertThat(insult.get("follows").asBoolean()).isFalse();
    // "bob is a fool." vs "I will not insult bob.": 16 edits of 22 (checked with an independent
    // Python Levenshtein); unterminated; toxic.
    assertThat(insult.get("score").asDouble()).isEqualTo(1 - 16.0 / 22 - 2);
    assertThat(out.toString())
        .contains("family")
        .containsPattern("count\\s+1\\s+1\\.000\\s+1\\.000")
        .containsPattern("all\\s+3\\s")
        .contains("skipped 3 malformed line(s)");
  }

  @Test
  void gradeOfCleanInputExitsZero() throws Exception {
    var in = dir.resolve("demos.jsonl");
    assertThat(rlhf("tasks", "demos", "--n", "40", "--seed", "3", "--out", in.toString())).isZero();
    assertThat(rlhf("grade", "--in", in.toString(), "--out", dir.resolve("g.jsonl").toString()))
        .isZero();
    // the labelers' demonstrations: exactly the clean ones are correct (chatter and slips are not)
    long clean =
        Files.readAllLines(in).stream().filter(l -> l.contains("\"kind\":\"clean\"")).count();
    assertThat(clean).isBetween(20L, 39L);
    assertThat(out.toString())
        .containsPattern(
            "all\\s+40\\s+"
                + String.format(java.util.Locale.ROOT, "%.3f", clean / 40.0).replace(".", "\\.")
                + "\\s");
    assertThat(err.toString()).isEmpty();
  }

  @Test
  void gradeRefusesToWriteOverItsInputAndLeavesItWhole() throws Exception {
    var in = dir.resolve("demos.jsonl");
    assertThat(rlhf("tasks", "demos", "--n", "5", "--out", in.toString())).isZero();
    var before = Files.readAllLines(in);
    var link = Files.createSymbolicLink(dir.resolve("link.jsonl"), in);

    assertThat(rlhf("grade", "--in", in.toString(), "--out", link.toString())).isEqualTo(2);
    assertThat(err.toString().strip())
        .isEqualTo("rlhf grade: --out " + link + " is the --in file: choose another --out");
    assertThat(Files.readAllLines(in)).isEqualTo(before);
  }

  @Test
  void anInputThatIsADeviceOrPipeIsNamedForWhatItIs() {
    // as <(...) or /dev/stdin would be: not "no such file"
    var out = dir.resolve("graded.jsonl");
    assertThat(rlhf("grade", "--in", "/dev/null", "--out", out.toString())).isEqualTo(2);
    assertThat(err.toString().strip())
        .isEqualTo(
            "rlhf grade: /dev/null is not a regular file (a pipe or a device): save its contents"
                + " to a file");
    assertThat(out).doesNotExist();
  }

  @Test
  void anotherToolsLatestJsonAboveTheOutputIsNoCheckpoint() throws Exception {
    var project = Files.createDirectories(dir.resolve("project"));
    Files.writeString(project.resolve("latest.json"), "{\"version\": \"1.2.3\"}\n");
    var file = project.resolve("a").resolve("b").resolve("eval.jsonl");
    assertThat(rlhf("tasks", "eval-set", "--out", file.toString())).as(err.toString()).isZero();
    assertThat(Files.readAllLines(file)).hasSize(400);
  }

  @Test
  void anOutThatCannotBeMadeSaysWhy() throws Exception {
    var file = Files.writeString(dir.resolve("a-file"), "x\n");
    var under = file.resolve("eval.jsonl");
    assertThat(rlhf("tasks", "eval-set", "--out", under.toString())).isEqualTo(2);
    assertThat(err.toString().strip())
        .isEqualTo(
            "rlhf tasks eval-set: cannot write "
                + under
                + ": "
                + file.toAbsolutePath()
                + ": exists, and is not a directory");
    assertThat(Files.readString(file)).isEqualTo("x\n");
  }

  @Test
  void aFailedWriteLeavesTheFileItWouldReplaceAsItWas() throws Exception {
    var file = dir.resolve("kept.jsonl");
    Files.writeString(file, "old\n");
    try (var output = TaskFiles.create(file)) {
      output.writer().write("half of a new file");
      // no commit: the command failed or was interrupted here
    }
    assertThat(Files.readString(file)).isEqualTo("old\n");
    assertThat(Files.list(dir).map(p -> p.getFileName().toString())).containsOnly("kept.jsonl");

    try (var output = TaskFiles.create(file)) {
      output.writer().write("new\n");
      output.commit();
    }
    assertThat(Files.readString(file)).isEqualTo("new\n");
    assertThat(Files.list(dir).map(p -> p.getFileName().toString())).containsOnly("kept.jsonl");

    // through a symbolic link: the file it names gets the output, and the link stays a link
    var link = Files.createSymbolicLink(dir.resolve("link.jsonl"), file);
    try (var output = TaskFiles.create(link)) {
      output.writer().write("through the link\n");
      output.commit();
    }
    assertThat(Files.isSymbolicLink(link)).isTrue();
    assertThat(Files.readString(file)).isEqualTo("through the link\n");
  }

  @Test
  void gradeOfAMissingFileIsAUsageError() {
    assertThat(
            rlhf(
                "grade",
                "--in",
                dir.resolve("nope.jsonl").toString(),
                "--out",
                dir.resolve("made").resolve("o").toString()))
        .isEqualTo(2);
    assertThat(err.toString().strip())
        .isEqualTo("rlhf grade: no such file: " + dir.resolve("nope.jsonl"));
    assertThat(dir.resolve("made")).as("no directory made for --out").doesNotExist();
  }

  @Test
  void sampleWritesOneFamilyOrAllAndRejectsUnknownFamilies() throws Exception {
    var adds = dir.resolve("adds.jsonl");
    assertThat(
            rlhf(
                "tasks",
                "sample",
                "--family",
                "add",
                "--n",
                "25",
                "--seed",
                "1",
                "--out",
                adds.toString()))
        .isZero();
    assertThat(Files.readAllLines(adds))
        .hasSize(25)
        .allMatch(l -> l.contains("\"family\":\"add\""));
    var mixed = dir.resolve("mixed.jsonl");
    assertThat(rlhf("tasks", "sample", "--n", "400", "--seed", "1", "--out", mixed.toString()))
        .isZero();
    assertThat(
            Files.readAllLines(mixed).stream()
                .map(l -> l.replaceAll(".*\"family\":\"([a-z]+)\".*", "$1"))
                .distinct())
        .hasSize(8);
    assertThat(rlhf("tasks", "sample", "--family", "poetry", "--out", mixed.toString()))
        .isEqualTo(2);
    assertThat(err.toString()).contains("unknown family 'poetry'");
  }

  /**
   * Written to standard output, the data goes through it (a second opening of /dev/stdout started
   * at offset 0, truncating a file the shell appended to), and the command's own line to stderr,
   * out of the data. Zero prompts: this test's own standard output stays clean.
   */
  @Test
  void dataWrittenToStandardOutputKeepsTheCommandsOwnLineOutOfIt() {
    for (var stdout : List.of("/dev/stdout", "/dev/fd/1", "/proc/self/fd/1")) {
      assertThat(TaskFiles.isStdout(Path.of(stdout))).as(stdout).isTrue();
      assertThat(rlhf("tasks", "sample", "--n", "0", "--out", stdout)).isZero();
    }
    assertThat(out.toString()).isEmpty();
    assertThat(err.toString())
        .contains("wrote 0 mixed-family training prompts (seed 0) to /dev/stdout");
    assertThat(TaskFiles.isStdout(dir.resolve("stdout"))).isFalse();
  }

  @Test
  void corpusWritesDocumentsSeparatedByTheEndOfSequenceMarker() throws Exception {
    var file = dir.resolve("corpus.txt");
    assertThat(rlhf("tasks", "corpus", "--docs", "30", "--seed", "2", "--out", file.toString()))
        .isZero();
    var docs = io.streamrlhf.tasks.CorpusFile.read(file);
    assertThat(docs).hasSize(30);
    assertThat(docs)
        .containsExactlyElementsOf(
            io.streamrlhf.tasks.Corpus.documents(2, 30).stream()
                .map(io.streamrlhf.tasks.Corpus.Document::text)
                .toList());
  }

  @Test
  void theWrongFileNamesAFewMalformedLinesAndSaysItIsTheWrongFile() throws Exception {
    var corpus = dir.resolve("corpus.txt");
    Files.writeString(corpus, "The snow is white.\n".repeat(500));

    assertThat(rlhf("tasks", "calibrate", "--in", corpus.toString(), "--k", "4")).isEqualTo(2);

    var lines = err.toString().lines().toList();
    assertThat(lines.stream().filter(l -> l.contains("skipped malformed line")))
        .hasSize(GradedResponses.LISTED);
    assertThat(lines)
        .contains(corpus + ": more malformed lines skipped, not listed; counted below");
    assertThat(lines.get(lines.size() - 1))
        .isEqualTo(
            "rlhf tasks calibrate: no line of "
                + corpus
                + " is a graded response (500 malformed): give rlhf generate's output, K responses"
                + " per prompt (--samples K)");
  }

  @Test
  void calibrateRefusesRoundsItWouldSpendMinutesOnWithoutAWord() throws Exception {
    var in = Files.writeString(dir.resolve("responses.jsonl"), "");
    for (var rounds : List.of("0", "100000000")) {
      err.getBuffer().setLength(0);
      assertThat(rlhf("tasks", "calibrate", "--in", in.toString(), "--rounds", rounds))
          .isEqualTo(2);
      assertThat(err.toString().strip())
          .isEqualTo("rlhf tasks calibrate: --rounds must be from 1 to 10000, got " + rounds);
    }
  }

  @Test
  void calibratePrintsBetaAndTheMeasuredAgreement() throws Exception {
    var in = dir.resolve("responses.jsonl");
    var lines = new java.util.ArrayList<String>();
    var prompts = new io.streamrlhf.tasks.TrainingPrompts(5);
    for (int p = 0; p < 200; p++) {
      var task = prompts.next();
      var a = task.reference();
      for (var response : List.of(a, a + "x", a.substring(1), "zz" + a + "zz")) {
        lines.add(
            JSON.createObjectNode()
                .put("prompt", task.prompt())
                .put("response", response)
                .put("terminated", true)
                .toString());
      }
    }
    Files.write(in, lines);
    assertThat(rlhf("tasks", "calibrate", "--in", in.toString(), "--k", "4")).isZero();
    var text = out.toString();
    assertThat(text).contains("200 sets of K=4").containsPattern("beta = \\d+\\.\\d{4}");
    var measured = Double.parseDouble(text.replaceAll("(?s).*agreement = (\\d\\.\\d+) .*", "$1"));
    assertThat(measured).isBetween(0.71, 0.75);
  }
}
