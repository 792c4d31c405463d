package io.streamrlhf.infra.cli;

import static io.streamrlhf.infra.cli.CliRun.run;
import static org.assertj.core.api.Assertions.assertThat;

import io.streamrlhf.infra.chaos.TinyModels;
import io.streamrlhf.infra.kafka.BrokerUsers;
import io.streamrlhf.infra.kafka.EmbeddedKafka;
import io.streamrlhf.infra.kafka.LoopRole;
import io.streamrlhf.learner.train.TrainState;
import io.streamrlhf.model.checkpoint.Checkpoint;
import io.streamrlhf.model.checkpoint.Json;
import io.streamrlhf.tasks.SplitMix64;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a user who got an address or a file wrong sees: one line naming the address, or the file and
 * line, and exit code 2; never a stack trace.
 */
class ClearErrorsCliTest {
  /** Nothing listens on port 1 of the loopback interface: connections are refused at once. */
  private static final String NOBODY = "127.0.0.1:1";

  @BeforeEach
  void shortWait() {
    System.setProperty(BrokerCheck.WAIT_PROPERTY, "PT1S"); // the default is 15 s
  }

  @AfterEach
  void defaultWait() {
    System.clearProperty(BrokerCheck.WAIT_PROPERTY);
  }

  @Test
  void everyCommandGivenAnAddressNoBrokerAnswersOnSaysSoInOneLine(@TempDir Path dir)
      throws IOException {
    var sft = checkpoint(dir.resolve("sft"), "sft").toString();
    var rm = checkpoint(dir.resolve("rm"), "reward").toString();
    var commands =
        List.of(
            List.of("learner", "--sft", sft, "--rm", rm, "--out", dir.resolve("l").toString()),
            List.of("ppo", "--sft", sft, "--rm", rm, "--out", dir.resolve("p").toString()),
            List.of("actor", "--sft", sft, "--rm", rm),
            List.of("reward-trainer", "--sft", sft, "--out", dir.resolve("r").toString()),
            List.of("labelers"),
            List.of("gateway", "--port", "0"));
    for (var command : commands) {
      var args = new ArrayList<>(command);
      args.addAll(List.of("--bootstrap", NOBODY));

      var run = run(args.toArray(String[]::new));

      assertThat(run.exitCode()).as(command.get(0)).isEqualTo(2);
      assertThat(run.err().strip())
          .as(command.get(0))
          .isEqualTo(
              "rlhf "
                  + command.get(0)
                  + ": cannot reach Kafka at 127.0.0.1:1 within 1 s (connection refused): is"
                  + " --bootstrap right and the broker up?");
    }
    assertThat(dir.resolve("l")).as("refused before the run wrote its config").doesNotExist();
  }

  @Test
  void aDurationNotWrittenInIso8601ShowsHowOneIs() {
    var run = run("gateway", "--ack-timeout", "5s");
    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err().lines().findFirst().orElse(""))
        .isEqualTo(
            "rlhf gateway: Invalid value for option '--ack-timeout': '5s' is not an ISO-8601"
                + " duration: write e.g. PT5S (5 seconds), PT10M or PT1H30M");
  }

  @Test
  void anAddressThatIsNotHostAndPortIsRefusedAtOnce() {
    var run = run("labelers", "--bootstrap", "localhost");

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err().strip())
        .isEqualTo(
            "rlhf labelers: --bootstrap localhost: 'localhost' is not HOST:PORT (e.g."
                + " 127.0.0.1:9092)");
  }

  @Test
  void aPortThatAcceptsConnectionsButIsNotKafkaIsNamed() throws IOException {
    try (var notKafka = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
      var address = "127.0.0.1:" + notKafka.getLocalPort();

      var run = run("labelers", "--bootstrap", address);

      assertThat(run.exitCode()).isEqualTo(2);
      assertThat(run.err().strip())
          .startsWith("rlhf labelers: " + address + " accepts connections but no Kafka broker")
          .endsWith(
              "is --bootstrap a Kafka listener, and are the client settings (--kafka-config) right?")
          .doesNotContain("\n");
    }
  }

  @Test
  void aCommandWithoutCredentialsAgainstABrokerThatRequiresThemEndsInOneLine() {
    var users =
        new BrokerUsers(
            Map.of("root", new BrokerUsers.User("root", LoopRole.ADMIN, "root-secret")));
    try (var kafka = EmbeddedKafka.start(EmbeddedKafka.Options.defaults().withUsers(users))) {
      var address = kafka.bootstrapServers();

      // the broker drops a client that does not log in: to it, a silent broker
      var run = run("labelers", "--bootstrap", address);

      assertThat(run.exitCode()).isEqualTo(2);
      assertThat(run.err().strip())
          .startsWith("rlhf labelers: " + address + " accepts connections but no Kafka broker")
          .endsWith("are the client settings (--kafka-config) right?")
          .doesNotContain("\n");
    }
  }

  /** A trailing '/' says a directory; a file of that name would surprise whoever typed it. */
  @Test
  void aFileOutputGivenAsADirectoryIsRefusedAndNothingIsWritten(@TempDir Path dir) {
    var out = dir.resolve("prompts") + "/";
    for (var args :
        List.of(
            List.of("tasks", "sample", "--n", "3"),
            List.of("tasks", "demos", "--n", "3"),
            List.of("tasks", "eval-set"),
            List.of("tasks", "corpus", "--docs", "3"),
            List.of("grade", "--in", "in.jsonl"))) {
      var argv = new java.util.ArrayList<>(args);
      argv.addAll(List.of("--out", out));
      var run = run(argv.toArray(String[]::new));
      assertThat(run.exitCode()).as(run.err()).isEqualTo(2);
      assertThat(run.err().lines().findFirst().orElseThrow())
          .isEqualTo(
              "rlhf "
                  + String.join(
                      " ", args.get(0).equals("grade") ? args.subList(0, 1) : args.subList(0, 2))
                  + ": Invalid value for option '--out': '"
                  + out
                  + "' ends with '/', a directory: give a file");
      assertThat(dir.resolve("prompts")).doesNotExist();
    }
  }

  /** "-" is standard output, as Unix tools read it (it wrote a file named "-"); "" is no file. */
  @Test
  void aFileOutputOfDashIsStandardOutputAndAnEmptyOneIsRefused() {
    assertThat(new TaskFiles.FileOption().convert("-")).isEqualTo(Path.of("/dev/stdout"));
    assertThat(TaskFiles.isStdout(new TaskFiles.FileOption().convert("-"))).isTrue();
    var empty = run("tasks", "sample", "--n", "3", "--out", "");
    assertThat(empty.exitCode()).isEqualTo(2);
    assertThat(empty.err().lines().findFirst().orElseThrow())
        .isEqualTo("rlhf tasks sample: Invalid value for option '--out': empty: give a file");
  }

  @Test
  void aFileWhereADirectoryOrAHeapSizeBelongsIsNamedBeforeAnyWork(@TempDir Path dir)
      throws IOException {
    var file = Files.writeString(dir.resolve("c.txt"), "not a directory");
    var demo = run("demo", "--workdir", file.toString());
    assertThat(demo.exitCode()).isEqualTo(2);
    assertThat(demo.err().strip())
        .isEqualTo("rlhf demo: --workdir " + file + " is a file: give a directory");
    // a directory that cannot be made (under a file), for each command that makes one up front
    var under = file.resolve("sub");
    var demoUnder = run("demo", "--workdir", under.toString());
    assertThat(demoUnder.exitCode()).isEqualTo(2);
    assertThat(demoUnder.err().strip())
        .startsWith("rlhf demo: cannot write in --workdir " + under + " (")
        .endsWith("Not a directory): choose another --workdir");
    var chaos = run("chaos", "--scenario", "poison", "--out", under.toString());
    assertThat(chaos.exitCode()).isEqualTo(2);
    assertThat(chaos.err().strip())
        .startsWith("rlhf chaos: cannot write in --out " + under + " (")
        .endsWith("Not a directory): choose another --out");
    var users = Files.writeString(dir.resolve("users.properties"), "root = admin:pw\n");
    var broker =
        run(
            "broker",
            "--port",
            "0",
            "--users",
            users.toString(),
            "--client-configs",
            under.toString());
    assertThat(broker.exitCode()).isEqualTo(2);
    assertThat(broker.err().strip())
        .startsWith("rlhf broker: cannot write in --client-configs " + under + " (")
        .endsWith("Not a directory): choose another --client-configs");

    var model = checkpoint(dir.resolve("sft"), "sft");
    var race =
        run(
            "race",
            "--sft",
            model.toString(),
            "--out",
            dir.resolve("race").toString(),
            "--updates",
            "2",
            "--heap",
            "banana");
    assertThat(race.exitCode()).isEqualTo(2);
    assertThat(race.err().strip())
        .isEqualTo("rlhf race: --heap must be a JVM heap size such as 2g or 1536m, got 'banana'");
    assertThat(dir.resolve("race")).doesNotExist();

    // sizes and settings a child would fail on, or that make no race, refused before any starts
    var raceArgs = List.of("race", "--sft", model.toString(), "--out");
    var cases =
        Map.of(
            List.of(dir.resolve("race").toString(), "--heap", "1k"),
            "rlhf race: --heap 1k is too small for a child that loads PyTorch, a model and Kafka's"
                + " clients: give 64m or more",
            List.of(dir.resolve("race").toString(), "--timeout", "PT0S"),
            "rlhf race: --timeout must be longer than 0, got PT0S",
            List.of(
                dir.resolve("race").toString(),
                "--updates",
                "1",
                "--set",
                "value_warmup_updates=0"),
            "rlhf race: --updates 1 gives each mode two evaluations (v0 and v1), too few for"
                + " time_to_reward: give --updates 2 or more",
            List.of(dir.resolve("race").toString(), "--set", "value_warmup_updates=0"),
            "rlhf race: with 2 updates and eval_every_updates 40 each mode records 2 evaluations,"
                + " too few for time_to_reward (its smoothed level is their mean): set"
                + " eval_every_updates to 1 or less",
            List.of(file.toString()),
            "rlhf race: --out " + file + " is a file: give the race a new or empty directory",
            List.of(
                dir.resolve("race").toString(),
                "--set",
                "max_lag=0",
                "--set",
                "value_warmup_updates=0",
                "--set",
                "eval_every_updates=1"),
            "rlhf race: max_lag 0 is the synchronous loop, which the race runs as its sync mode:"
                + " race an asynchronous one against it with max_lag 1 or more",
            // it ran on the oracle whatever was asked
            List.of(
                dir.resolve("race").toString(),
                "--set",
                "reward=model",
                "--set",
                "value_warmup_updates=0"),
            "rlhf race: the race runs both modes on the gold reward (reward=oracle), with no"
                + " reward model: drop reward=model");
    for (var c : cases.entrySet()) {
      var args = new ArrayList<>(raceArgs);
      args.addAll(c.getKey());
      if (!args.contains("--updates")) args.addAll(List.of("--updates", "2"));
      var refused = run(args.toArray(String[]::new));
      assertThat(refused.exitCode()).as(c.getValue()).isEqualTo(2);
      assertThat(refused.err().strip()).isEqualTo(c.getValue());
    }
    assertThat(dir.resolve("race")).doesNotExist();
  }

  @Test
  void aDashboardOfNoRunDirectoryIsRefusedInOneLine(@TempDir Path dir) throws IOException {
    // a run yet to start is followed (its --out may not exist); a file, or a path whose parent is
    // missing too, is no run's directory
    var file = Files.writeString(dir.resolve("notes.txt"), "x");
    var run = run("dashboard", "--run", file.toString(), "--port", "0");
    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err().strip())
        .isEqualTo("rlhf dashboard: --run " + file + " is not a directory: give a stage's --out");
    var nowhere = dir.resolve("nope").resolve("ppo");
    run = run("dashboard", "--run", nowhere.toString(), "--port", "0");
    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err().strip())
        .isEqualTo(
            "rlhf dashboard: --run "
                + nowhere
                + " does not exist, nor does its parent: give a stage's --out (one it has yet to"
                + " make is followed once its parent exists)");
  }

  @Test
  void aPromptsFileThatIsNotUtf8IsNamedByFileAndLine(@TempDir Path dir) throws IOException {
    var model = checkpoint(dir.resolve("model"), "sft");
    var prompts = dir.resolve("prompts.txt");
    var latin1 = "Reverse caf\u00e9.\n".getBytes(StandardCharsets.ISO_8859_1);
    Files.write(prompts, concat("Reverse cat.\r\n\n".getBytes(StandardCharsets.UTF_8), latin1));

    var run =
        run(
            "generate",
            "--model",
            model.toString(),
            "--prompts",
            prompts.toString(),
            "--out",
            dir.resolve("out.jsonl").toString());

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err().strip())
        .isEqualTo(
            "rlhf generate: "
                + prompts
                + ":3: not UTF-8: byte 0xE9 at byte 12 of the line; save the file as UTF-8");
  }

  @Test
  void aMalformedJsonPromptIsNamedByFileAndLine(@TempDir Path dir) throws IOException {
    var model = checkpoint(dir.resolve("model"), "sft");
    var prompts =
        Files.writeString(
            dir.resolve("prompts.jsonl"), "{\"prompt\": \"Reverse cat.\"}\n{\"prompt\": 7}\n");

    var run =
        run(
            "generate",
            "--model",
            model.toString(),
            "--prompts",
            prompts.toString(),
            "--out",
            dir.resolve("out.jsonl").toString());

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err().strip())
        .isEqualTo("rlhf generate: " + prompts + ":2: \"prompt\" missing or not a string");
  }

  @Test
  void aPromptTooLongForTheModelIsNamedByFileAndLineBeforeSampling(@TempDir Path dir)
      throws IOException {
    var model = TinyModels.write(dir).resolve("sft"); // context length 256
    var prompts =
        Files.writeString(
            dir.resolve("prompts.txt"),
            "Reverse cat.\n\n" + "a".repeat(300) + "\nUppercase dog.\n");
    var out = dir.resolve("out.jsonl");

    var run =
        run(
            "generate",
            "--model",
            model.toString(),
            "--prompts",
            prompts.toString(),
            "--out",
            out.toString(),
            "--prompts-per-batch",
            "1");

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err().strip())
        .isEqualTo(
            "rlhf generate: "
                + prompts
                + ":3: prompt of 301 tokens (UTF-8 bytes, as the model gets them) + 48 new tokens"
                + " exceeds the model's context length 256; shorten it to at most 208 tokens");
    assertThat(run.out()).as("no batch was sampled").isEmpty();
    assertThat(out).doesNotExist();
  }

  @Test
  void gradeSkipsALineThatIsNotUtf8NamingFileAndLine(@TempDir Path dir) throws IOException {
    var in = dir.resolve("responses.jsonl");
    var good = "{\"prompt\":\"Reverse cat.\",\"response\":\"tac\",\"terminated\":true}\n";
    var bad = "{\"prompt\":\"Reverse caf\u00e9.\",\"response\":\"x\",\"terminated\":true}\n";
    Files.write(
        in,
        concat(good.getBytes(StandardCharsets.UTF_8), bad.getBytes(StandardCharsets.ISO_8859_1)));

    var run = run("grade", "--in", in.toString(), "--out", dir.resolve("graded.jsonl").toString());

    assertThat(run.exitCode()).isEqualTo(3);
    assertThat(run.err())
        .contains(in + ":2: skipped malformed line: not UTF-8: byte 0xE9 at byte 23 of the line");
    assertThat(Files.readAllLines(dir.resolve("graded.jsonl"))).hasSize(1);
  }

  @Test
  void gradeSkipsALineThatGivesAFieldTwice(@TempDir Path dir) throws IOException {
    var in = dir.resolve("responses.jsonl");
    Files.writeString(
        in,
        "{\"prompt\":\"Reverse cat.\",\"response\":\"tac\",\"terminated\":true}\n"
            + "{\"prompt\":\"Reverse cat.\",\"prompt\":\"Reverse dog.\",\"response\":\"god\","
            + "\"terminated\":true}\n");

    var run = run("grade", "--in", in.toString(), "--out", dir.resolve("graded.jsonl").toString());

    assertThat(run.exitCode()).isEqualTo(3);
    assertThat(run.err()).contains(in + ":2: skipped malformed line: field 'prompt' given twice");
    assertThat(Files.readAllLines(dir.resolve("graded.jsonl"))).hasSize(1);
  }

  @Test
  void gradeOfAFileWithNoGradableLineIsTheWrongFileAndWritesNothing(@TempDir Path dir)
      throws IOException {
    var in = dir.resolve("weights.bin");
    var bytes = new byte[3000];
    new java.util.Random(7).nextBytes(bytes);
    Files.write(in, bytes);
    var out = dir.resolve("graded.jsonl");

    var run = run("grade", "--in", in.toString(), "--out", out.toString());

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err()).contains(in + ":1: skipped malformed line");
    assertThat(run.err().strip().lines().reduce((a, b) -> b).orElseThrow())
        .startsWith("rlhf grade: no line of " + in + " is a response to grade (")
        .endsWith("give rlhf generate's output, or lines of the same form");
    assertThat(out).doesNotExist();
  }

  @Test
  void gradeOfAnEmptyFileIsRefusedAndWritesNothing(@TempDir Path dir) throws IOException {
    var in = Files.writeString(dir.resolve("empty.jsonl"), "\n\n");
    var out = dir.resolve("graded.jsonl");

    var run = run("grade", "--in", in.toString(), "--out", out.toString());

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err().strip())
        .isEqualTo(
            "rlhf grade: "
                + in
                + " holds no line to grade: give rlhf generate's output, or lines of the same form");
    assertThat(out).doesNotExist();
  }

  private static byte[] concat(byte[] a, byte[] b) {
    var out = new byte[a.length + b.length];
    System.arraycopy(a, 0, out, 0, a.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }

  /** A directory that reads as a checkpoint of {@code stage} (pointer and train state). */
  @Test
  void aSetThatAsksForAnotherValueThanAFlagNamesTheFlag(@TempDir Path dir) throws IOException {
    var corpus = Files.writeString(dir.resolve("corpus.txt"), "some text\n");
    var pretrain =
        run(
            "pretrain",
            "--out",
            dir.resolve("base").toString(),
            "--corpus",
            corpus.toString(),
            "--set",
            "corpus=other.txt");
    assertThat(pretrain.exitCode()).isEqualTo(2);
    assertThat(pretrain.err().strip())
        .isEqualTo(
            "rlhf pretrain: --set corpus=other.txt asks for another corpus than --corpus, which"
                + " sets corpus="
                + corpus.toAbsolutePath().normalize()
                + ": give one of them");
    var sft = checkpoint(dir.resolve("sft"), "sft").toString();
    var race =
        run(
            "race",
            "--sft",
            sft,
            "--out",
            dir.resolve("race").toString(),
            "--updates",
            "30",
            "--set",
            "updates=50");
    assertThat(race.exitCode()).isEqualTo(2);
    assertThat(race.err().strip())
        .isEqualTo(
            "rlhf race: --set updates=50 asks for another updates than --updates, which sets"
                + " updates=30: give one of them");
    assertThat(dir.resolve("base")).as("nothing written").doesNotExist();
  }

  /** A checkpoint directory of {@code stage} that holds no weights: enough for the checks. */
  static Path checkpoint(Path dir, String stage) throws IOException {
    new TrainState(stage, 1, 0, new SplitMix64(1).state(), 0, null)
        .write(dir.resolve("step-000001"));
    Json.writeAtomically(new Checkpoint.Latest(1, "step-000001"), dir.resolve(Checkpoint.LATEST));
    return dir;
  }
}
