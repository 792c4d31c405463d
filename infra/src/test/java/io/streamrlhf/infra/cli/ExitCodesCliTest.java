package io.streamrlhf.infra.cli;

import static io.streamrlhf.infra.cli.CliRun.run;
import static org.assertj.core.api.Assertions.assertThat;

import io.streamrlhf.infra.chaos.TinyModels;
import io.streamrlhf.infra.kafka.EmbeddedKafka;
import io.streamrlhf.learner.train.TrainState;
import io.streamrlhf.model.checkpoint.Checkpoint;
import io.streamrlhf.tasks.SplitMix64;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Exit code 2 is the user's mistake and only that; an exception from deep in the code is ours, exit
 * code 1.
 */
class ExitCodesCliTest {

  @Test
  void aBadSetKeyIsTheUsersMistake(@TempDir Path dir) {
    var run = run("pretrain", "--out", dir.resolve("base").toString(), "--set", "no_such_key=1");
    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err().strip())
        .startsWith("rlhf pretrain: unknown key 'no_such_key' in --set no_such_key=1")
        .doesNotContain("\n");
    assertThat(dir.resolve("base")).as("refused before writing anything").doesNotExist();
  }

  @Test
  void aBlankActorIdIsTheUsersMistake(@TempDir Path dir) {
    var actor = run("actor", "--bootstrap", "localhost:1", "--sft", dir.toString(), "--id", "");
    assertThat(actor.exitCode()).isEqualTo(2);
    assertThat(actor.err().strip()).isEqualTo("rlhf actor: --id must name the actor, got \"\"");
  }

  @Test
  void aWaitThatIsNotLongerThanZeroIsRefusedBeforeTheClusterIsAsked(@TempDir Path dir) {
    // it gave up at once, after publishing to the cluster and writing --out
    var learner =
        run(
            "learner",
            "--bootstrap",
            "localhost:1",
            "--sft",
            dir.toString(),
            "--out",
            dir.resolve("learner").toString(),
            "--rollout-wait",
            "PT-5S");
    assertThat(learner.exitCode()).isEqualTo(2);
    assertThat(learner.err().strip())
        .isEqualTo("rlhf learner: --rollout-wait must be longer than 0, got PT-5S");
    assertThat(dir.resolve("learner")).doesNotExist();
    var actor =
        run(
            "actor",
            "--bootstrap",
            "localhost:1",
            "--sft",
            dir.toString(),
            "--version-wait",
            "PT0S");
    assertThat(actor.exitCode()).isEqualTo(2);
    assertThat(actor.err().strip())
        .isEqualTo("rlhf actor: --version-wait must be longer than 0, got PT0S");
  }

  @Test
  void labelRequestsOfFewerThanTwoOrMoreThanNineAnswersAreRefused(@TempDir Path dir) {
    for (var k : List.of("1", "10")) {
      var actor =
          run(
              "actor",
              "--bootstrap",
              "localhost:1",
              "--sft",
              dir.toString(),
              "--label-requests",
              "0.5",
              "--label-responses",
              k);
      assertThat(actor.exitCode()).isEqualTo(2);
      assertThat(actor.err().strip())
          .isEqualTo(
              "rlhf actor: --label-responses must be from 2 (a ranking needs two answers) to 9 (as"
                  + " rlhf reward's K; the labeling page ranks by the keys 1 to 9), got "
                  + k);
    }
  }

  @Test
  void anUnknownSwapModeIsTheUsersMistake(@TempDir Path dir) {
    var actor =
        run("actor", "--bootstrap", "localhost:1", "--sft", dir.toString(), "--swap", "sideways");
    assertThat(actor.exitCode()).isEqualTo(2);
    assertThat(actor.err().strip())
        .isEqualTo("rlhf actor: --swap is between-batches or in-flight, got \"sideways\"");
    var ppo =
        run(
            "ppo",
            "--sft",
            dir.toString(),
            "--reward",
            "oracle",
            "--out",
            dir.resolve("ppo").toString(),
            "--swap",
            "mid-batch");
    assertThat(ppo.exitCode()).isEqualTo(2);
    assertThat(ppo.err().strip())
        .isEqualTo("rlhf ppo: --swap is between-batches or in-flight, got \"mid-batch\"");
    assertThat(dir.resolve("ppo")).as("refused before writing anything").doesNotExist();
  }

  @Test
  void aRaceThatGivesUpIsOneLineAndExit1NotAnInternalError(@TempDir Path dir) throws Exception {
    var sft = TinyModels.write(dir.resolve("models")).resolve("sft");
    var run =
        run(
            "race",
            "--sft",
            sft.toString(),
            "--updates",
            "4",
            "--set",
            "value_warmup_updates=0",
            "--set",
            "eval_every_updates=2",
            "--out",
            dir.resolve("race").toString(),
            "--heap",
            "256m",
            "--timeout",
            "PT1S"); // the children take longer than that to start
    assertThat(run.exitCode()).isEqualTo(1);
    var last = run.err().strip().lines().reduce((a, b) -> b).orElseThrow();
    assertThat(last).startsWith("rlhf race: race sync: the learner did not finish within 1 s");
    assertThat(run.err()).doesNotContain("internal error").doesNotContain("\tat ");
  }

  @Test
  void anIllegalArgumentFromACorruptCheckpointIsAnInternalFailure(@TempDir Path dir)
      throws Exception {
    // a checkpoint in form (latest.json points at a step directory, an SFT train state) whose
    // model.json is not a GPT config
    var model = dir.resolve("model");
    Files.createDirectories(model.resolve("step-000001"));
    new TrainState("sft", 1, 0, new SplitMix64(1).state(), 0, null)
        .write(model.resolve("step-000001"));
    Files.writeString(
        model.resolve("latest.json"), "{\"step\": 1, \"directory\": \"step-000001\"}");
    Files.writeString(model.resolve("step-000001").resolve("model.json"), "not json");
    var prompts = Files.writeString(dir.resolve("prompts.txt"), "Reverse cat.\n");
    var run =
        run(
            "generate",
            "--model",
            model.toString(),
            "--prompts",
            prompts.toString(),
            "--out",
            dir.resolve("out.jsonl").toString());
    assertThat(run.exitCode()).isEqualTo(1);
    var lines = run.err().lines().toList();
    assertThat(lines.get(0))
        .startsWith("rlhf generate: internal error: not a GPT config")
        .endsWith("(IllegalArgumentException)");
    assertThat(run.err()).contains("stack trace").contains("\tat ");
  }

  @Test
  void aSnapshotFailingItsOwnCheckIsACheckpointThatDoesNotFit(@TempDir Path dir) throws Exception {
    // a checkpoint without a manifest, as written before manifests existed: the weights' own
    // checksum, checked as they are read, is what finds the flipped byte
    var model = TinyModels.write(dir).resolve("sft");
    var step = model.resolve(Checkpoint.latest(model).directory());
    Files.delete(step.resolve(Checkpoint.MANIFEST));
    var weights = step.resolve(Checkpoint.WEIGHTS);
    var bytes = Files.readAllBytes(weights);
    bytes[bytes.length / 2] ^= 1;
    Files.write(weights, bytes);
    var prompts = Files.writeString(dir.resolve("prompts.txt"), "Reverse cat.\n");
    var run =
        run(
            "generate",
            "--model",
            model.toString(),
            "--prompts",
            prompts.toString(),
            "--out",
            dir.resolve("out.jsonl").toString());
    assertThat(run.exitCode()).as(run.err()).isEqualTo(2);
    assertThat(run.err().strip())
        .startsWith("rlhf generate: " + weights + " fails its own check (weight snapshot v0 is")
        .endsWith("): restore the checkpoint from a copy")
        .doesNotContain("\n");
    assertThat(dir.resolve("out.jsonl")).doesNotExist();
  }

  @Test
  void aFullDiskIsTheMachinesFailureNamedWithItsFile() {
    Assumptions.assumeTrue(Files.isWritable(Path.of("/dev/full")), "needs Linux's /dev/full");
    for (var command : List.of(List.of("tasks", "corpus"), List.of("tasks", "demos"))) {
      var args = new ArrayList<>(command);
      args.addAll(List.of("--out", "/dev/full"));
      var run = run(args.toArray(String[]::new));
      assertThat(run.exitCode()).as(run.err()).isEqualTo(4);
      assertThat(run.err().strip())
          .isEqualTo(
              "rlhf "
                  + String.join(" ", command)
                  + ": cannot write /dev/full: No space left on device");
    }
  }

  @Test
  void aRefusalAtTheBoundaryCausedByAFullDiskIsTheMachinesFailure() {
    var cli = Rlhf.commandLine().getSubcommands().get("pretrain");
    var err = new StringWriter();
    cli.setErr(new PrintWriter(err));
    var refused =
        new UserError(
            "cannot write in --out o (No space left on device): choose another --out",
            new IOException("No space left on device"));
    assertThat(new UserErrors().handleExecutionException(refused, cli, null)).isEqualTo(4);
    assertThat(err.toString().strip()).isEqualTo("rlhf pretrain: " + refused.getMessage());
    var mistaken = new UserError("--out o is a file: give a directory");
    assertThat(new UserErrors().handleExecutionException(mistaken, cli, null)).isEqualTo(2);
  }

  @Test
  void aFileThisUserMayNotAccessIsTheUsersToMendAndNamedInOneLine() {
    var cli = Rlhf.commandLine().getSubcommands().get("generate");
    var err = new StringWriter();
    cli.setErr(new PrintWriter(err));
    var denied =
        new UncheckedIOException(
            "cannot read the prompts", new java.nio.file.AccessDeniedException("/data/p.jsonl"));
    assertThat(new UserErrors().handleExecutionException(denied, cli, null)).isEqualTo(2);
    assertThat(err.toString().strip())
        .isEqualTo(
            "rlhf generate: /data/p.jsonl: permission denied: give the user running rlhf access to"
                + " it, or choose another path");
  }

  @Test
  void aKafkaLoginOrPermissionRefusedIsTheUsersToMendAndSaysWhichInOneLine() {
    var cli = Rlhf.commandLine().getSubcommands().get("actor");
    var cases =
        java.util.Map.<Exception, String>of(
            new org.apache.kafka.common.KafkaException(
                "Failed to construct kafka consumer",
                new org.apache.kafka.common.errors.SslAuthenticationException(
                    "SSL handshake failed",
                    new javax.net.ssl.SSLHandshakeException(
                        "PKIX path building failed: unable to find valid certification path"))),
            "rlhf actor: the TLS handshake with the Kafka cluster failed: SSL handshake failed"
                + " (PKIX path building failed: unable to find valid certification path): check"
                + " the trust store, the client's certificate and the broker's host name in the"
                + " --kafka-config file, and that --bootstrap names a TLS listener",
            new org.apache.kafka.common.errors.SaslAuthenticationException(
                "Authentication failed: Invalid username or password"),
            "rlhf actor: the Kafka cluster refused the login: Authentication failed: Invalid"
                + " username or password: check the user and password in the --kafka-config file",
            new IllegalStateException(
                "poll failed",
                new org.apache.kafka.common.errors.TopicAuthorizationException(
                    java.util.Set.of("rlhf.rollouts", "rlhf.prompts"))),
            "rlhf actor: the Kafka cluster does not allow this user what this command needs"
                + " (topics rlhf.prompts, rlhf.rollouts): log in with the --kafka-config file of a"
                + " user of this command's role (rlhf broker --users grants each role its topics,"
                + " consumer groups and transactional id; an admin creates the loop's topics, as"
                + " rlhf broker does)");
    cases.forEach(
        (failure, said) -> {
          var err = new StringWriter();
          cli.setErr(new PrintWriter(err));
          assertThat(new UserErrors().handleExecutionException(failure, cli, null)).isEqualTo(2);
          assertThat(err.toString().strip()).isEqualTo(said);
        });
  }

  /**
   * A broker that stopped answering is neither the user's mistake nor ours: one line (a publish
   * failure used to print the version's whole meta as "internal error", then a stack trace), exit
   * 1, and how to go on.
   */
  @Test
  void aBrokerThatStoppedAnsweringIsOneLineThatSaysHowToGoOn() {
    var learner = Rlhf.commandLine().getSubcommands().get("learner");
    var err = new StringWriter();
    learner.setErr(new PrintWriter(err));
    var publish =
        new IllegalStateException(
            "publishing failed",
            new io.streamrlhf.schemas.transport.WeightPublisher.WeightPublishException(
                "POLICY v134 on rlhf.policy-weights not acknowledged by the broker within 60 s"
                    + " (record 1 of 1): timed out",
                new org.apache.kafka.common.errors.TimeoutException("Expiring 1 record(s)")));
    assertThat(new UserErrors().handleExecutionException(publish, learner, null)).isEqualTo(1);
    assertThat(err.toString().strip())
        .isEqualTo(
            "rlhf learner: gave up waiting for the Kafka cluster: POLICY v134 on"
                + " rlhf.policy-weights not acknowledged by the broker within 60 s (record 1 of 1):"
                + " timed out; --out keeps the last checkpoint: once the cluster answers again, run"
                + " the same command with --resume to continue");

    var actor = Rlhf.commandLine().getSubcommands().get("actor");
    var actorErr = new StringWriter();
    actor.setErr(new PrintWriter(actorErr));
    var metadata =
        new org.apache.kafka.common.errors.TimeoutException(
            "Topic rlhf.rollouts not present in metadata after 30000 ms.");
    assertThat(new UserErrors().handleExecutionException(metadata, actor, null)).isEqualTo(1);
    assertThat(actorErr.toString().strip())
        .isEqualTo(
            "rlhf actor: gave up waiting for the Kafka cluster: Topic rlhf.rollouts not present in"
                + " metadata after 30000 ms.; run the command again once the cluster answers again");

    // a version the broker refused is no wait: a resume would meet the same refusal
    var refusedErr = new StringWriter();
    learner.setErr(new PrintWriter(refusedErr));
    var refused =
        new io.streamrlhf.schemas.transport.WeightPublisher.WeightPublishException(
            "POLICY v3 on rlhf.policy-weights not acknowledged by the broker within 60 s",
            new org.apache.kafka.common.errors.RecordTooLargeException("too large"));
    assertThat(new UserErrors().handleExecutionException(refused, learner, null)).isEqualTo(1);
    assertThat(refusedErr.toString()).contains("internal error").doesNotContain("gave up waiting");
  }

  /** PyTorch's allocator refusing a batch was "internal error" and a stack trace. */
  @Test
  void aBatchPyTorchCannotAllocateIsOneLineThatSaysToAskForLess() {
    var pretrain = Rlhf.commandLine().getSubcommands().get("pretrain");
    var err = new StringWriter();
    pretrain.setErr(new PrintWriter(err));
    var refused =
        new IllegalStateException(
            "step failed",
            new ai.djl.engine.EngineException(
                "[enforce fail at alloc_cpu.cpp:119] data. DefaultCPUAllocator: can't allocate"
                    + " memory: you tried to allocate 26214400000 bytes. Error code 12 (Cannot"
                    + " allocate memory)"));
    assertThat(new UserErrors().handleExecutionException(refused, pretrain, null)).isEqualTo(1);
    assertThat(err.toString().strip())
        .isEqualTo(
            "rlhf pretrain: out of memory: PyTorch could not allocate 26.2 GB: a setting asks for"
                + " more than this machine holds (samples, prompts or sequences per batch, the"
                + " model's size); ask for less");
  }

  @Test
  void onlyTheSystemsWordsForAFullOrBrokenDiskMakeAMachineFailure() {
    var disk = new IOException("No space left on device");
    var checkpoint =
        new IOException("cannot write the checkpoint of step 3 in d: " + disk.getMessage(), disk);
    assertThat(UserErrors.machineFailure(new UncheckedIOException(checkpoint)))
        .as("a wrapper that only repeats its cause is passed over")
        .isEqualTo(checkpoint.getMessage());
    assertThat(UserErrors.machineFailure(new IllegalStateException("run failed", disk)))
        .isEqualTo("run failed: No space left on device");
    assertThat(
            UserErrors.machineFailure(
                new FileSystemException("/data/out", null, "Read-only file system")))
        .isEqualTo("/data/out: Read-only file system");
    assertThat(UserErrors.machineFailure(new IOException("Connection reset by peer"))).isNull();
    assertThat(UserErrors.machineFailure(new IllegalStateException("No space left on device")))
        .as("only an I/O failure's words count")
        .isNull();
  }

  @Test
  void anEmptyPathIsRefusedRatherThanReadAsTheWorkingDirectory(@TempDir Path dir) {
    for (var args :
        new String[][] {
          {"pretrain", "--out", ""},
          {"eval", "--models", "sft", "--sft", dir.toString(), "--out", " "},
          {"generate", "--model", "", "--prompts", "p.txt", "--out", "o.jsonl"},
        }) {
      var run = run(args);
      assertThat(run.exitCode()).as(String.join(" ", args)).isEqualTo(2);
      assertThat(run.err().lines().findFirst().orElseThrow())
          .contains("an empty path, which would mean the working directory");
    }
  }

  @Test
  void aMissingConfigFileIsTheUsersMistake(@TempDir Path dir) {
    var run =
        run(
            "sft",
            "--base",
            dir.toString(),
            "--out",
            dir.resolve("sft").toString(),
            "--config",
            dir.resolve("nope.yaml").toString());
    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err().strip())
        .isEqualTo("rlhf sft: config file not found: " + dir.resolve("nope.yaml"));
    var directory =
        run(
            "sft",
            "--base",
            dir.toString(),
            "--out",
            dir.resolve("sft").toString(),
            "--config",
            dir.toString());
    assertThat(directory.exitCode()).isEqualTo(2);
    assertThat(directory.err().strip())
        .isEqualTo("rlhf sft: config file " + dir + " is a directory: give a file");
  }

  @Test
  void helpListsTheExitCodes() {
    var run = run("--help");
    assertThat(run.exitCode()).isZero();
    assertThat(run.out())
        .contains("Exit codes:")
        .containsPattern("\\n  1 +failed: an internal error")
        .containsPattern("\\n  2 +usage mistake")
        .containsPattern("\\n  4 +the machine refused: a full disk");
    assertThat(EmbeddedKafka.FULL_DISK_STATUS)
        .as("a broker that halts on a full disk exits as the CLI does")
        .isEqualTo(UserErrors.MACHINE);
  }
}
