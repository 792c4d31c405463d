package io.streamrlhf.infra.cli;

import static io.streamrlhf.infra.cli.CliRun.run;
import static org.assertj.core.api.Assertions.as;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import io.streamrlhf.learner.config.ConfigLoader;
import io.streamrlhf.learner.config.PretrainConfig;
import io.streamrlhf.learner.config.SftConfig;
import io.streamrlhf.learner.ppo.RunIdentity;
import io.streamrlhf.learner.train.TrainState;
import io.streamrlhf.model.checkpoint.Checkpoint;
import io.streamrlhf.model.checkpoint.Json;
import io.streamrlhf.model.checkpoint.OutputLock;
import io.streamrlhf.tasks.SplitMix64;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import org.assertj.core.api.InstanceOfAssertFactories;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** pretrain, sft, generate and eval through the command line, on a few steps of the tiny preset. */
class StagesCliTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TempDir static Path dir;
  static Path base;
  static Path sft;
  static Path rm;

  /** {@code rlhf pretrain} of two steps on 2 × 16 tokens into {@code out}. */
  private static String[] tinyPretrain(Path out) {
    return new String[] {
      "pretrain",
      "--out",
      out.toString(),
      "--set",
      "steps=2",
      "--set",
      "sequences_per_batch=2",
      "--set",
      "tokens_per_sequence=16",
      "--set",
      "warmup_steps=1",
      "--set",
      "log_every_steps=1"
    };
  }

  @Test
  void aRunWhoseLossEndsWellAboveItsStartSaysSoAndWhatToLower() {
    var out = dir.resolve("too-fast");
    var args = new ArrayList<>(List.of(tinyPretrain(out)));
    args.addAll(List.of("--set", "steps=4", "--set", "learning_rate=50"));
    var run = run(args.toArray(String[]::new));
    assertThat(run.exitCode()).as(run.err()).isZero(); // finite: it did what it was asked
    assertThat(run.out())
        .containsPattern(
            "pretrain: the loss rose from \\d+\\.\\d{4} at step 1 to \\d+\\.\\d{4} at step 4: the"
                + " model in "
                + java.util.regex.Pattern.quote(out.toString())
                + " is likely worse than its start; a learning_rate too high does this \\(lower it"
                + " with --set learning_rate=\\.\\.\\. and run again\\)");
    // the rule: more than 10% above the first printed loss, and only then
    assertThat(StageOptions.lossRose("sft", 1, 2.0, 9, 2.2, out)).isNull();
    assertThat(StageOptions.lossRose("sft", 1, 2.0, 9, 1.5, out)).isNull();
    assertThat(StageOptions.lossRose("sft", 1, 2.0, 9, 2.21, out))
        .startsWith("sft: the loss rose from 2.0000 at step 1 to 2.2100 at step 9:");
  }

  @BeforeAll
  static void trainTinyModels() {
    base = dir.resolve("base");
    sft = dir.resolve("sft");
    var pretrain = run(tinyPretrain(base));
    assertThat(pretrain.exitCode()).as(pretrain.err()).isZero();
    assertThat(pretrain.out())
        .contains("pretrain derived sizes: tokens_per_batch=32 tokens_in_run=64")
        .contains("\"steps\" : 2")
        .contains("pretrain step 2/2")
        .doesNotContain("the loss rose");
    var sftRun =
        run(
            "sft",
            "--base",
            base.toString(),
            "--out",
            sft.toString(),
            "--set",
            "steps=2",
            "--set",
            "demonstrations_per_batch=2",
            "--set",
            "warmup_steps=1",
            "--set",
            "log_every_steps=1");
    assertThat(sftRun.exitCode()).as(sftRun.err()).isZero();
    assertThat(sftRun.out())
        .contains("sft step 2/2")
        .contains("sft: 3000 demonstrations (clean 0.");
    rm = dir.resolve("rm");
    var rewardRun = run(tinyReward(sft, rm, "--set", "log_every_steps=1"));
    assertThat(rewardRun.exitCode()).as(rewardRun.err()).isZero();
    assertThat(rewardRun.out())
        // before training the zeroed head ties every pair: the score ranks by its likelihood term
        // alone
        .containsPattern("reward: before training, held-out accuracy 0\\.\\d{3} ")
        .contains("reward: likelihood term: weight ")
        .containsPattern("reward: held-out accuracy before training 0\\.\\d{3}, after ")
        .contains("the trained scalar head alone")
        .containsPattern(
            "reward: by family, the head alone vs labeler 1[^\\n]*\\n  "
                + "(reverse|upper|sort|add|count|repeat|color|insult) ")
        .contains("reward: length bias: correlation of the score with response length")
        .contains("against 3000 SFT demonstrations")
        .contains("warning: TASKS.md ranks at least 2.5");
  }

  @Test
  void theSettingsAHelpListsAreTheConfigsKeys() throws Exception {
    var stages =
        List.of(
            List.of("pretrain", ConfigLoader.toJson(PretrainConfig.defaults())),
            List.of("sft", ConfigLoader.toJson(SftConfig.defaults())));
    for (var stage : stages) {
      var help = run(stage.get(0), "--help").out().replaceAll("\\s+", " ");
      var listed = help.replaceAll(".*Settings \\(--set key=value\\): ([^.]*)\\..*", "$1");
      var helpKeys = new java.util.TreeSet<String>();
      for (var item : listed.split(", ")) helpKeys.add(item.split(" ")[0]);
      var configKeys = new java.util.TreeSet<String>();
      leaves(JSON.readTree(stage.get(1)), configKeys);
      // the inputs' SHA-256s are the command's to record, not the user's to set
      configKeys.removeIf(key -> key.endsWith("_sha256"));
      assertThat(helpKeys).as(stage.get(0) + " --help").isEqualTo(configKeys);
    }
  }

  private static void leaves(
      com.fasterxml.jackson.databind.JsonNode node, java.util.Set<String> keys) {
    node.fields()
        .forEachRemaining(
            field -> {
              if (field.getValue().isObject()) leaves(field.getValue(), keys);
              else keys.add(field.getKey());
            });
  }

  @Test
  void stagesSaveTheirEffectiveConfigBesideTheCheckpoint() throws Exception {
    var config = JSON.readTree(base.resolve("config.json").toFile());
    assertThat(config.get("steps").asInt()).isEqualTo(2);
    assertThat(config.get("tokens_per_sequence").asInt()).isEqualTo(16);
    assertThat(base.resolve("latest.json")).exists();
    assertThat(
            JSON.readTree(sft.resolve("config.json").toFile())
                .get("demonstrations_per_batch")
                .asInt())
        .isEqualTo(2);
  }

  @Test
  void unknownKeyIsRejectedWithTheNearestName() {
    var run =
        run("pretrain", "--out", dir.resolve("typo").toString(), "--set", "learning_rat=1e-3");
    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err()).contains("did you mean 'learning_rate'");
  }

  @Test
  void anExistingCheckpointNeedsResumeAndResumeNeedsACheckpoint() {
    var again = run("pretrain", "--out", base.toString());
    assertThat(again.exitCode()).isEqualTo(2);
    assertThat(again.err()).contains("--resume");
    var nothing =
        run("sft", "--base", base.toString(), "--out", dir.resolve("empty").toString(), "--resume");
    assertThat(nothing.exitCode()).isEqualTo(2);
    assertThat(nothing.err()).contains("no checkpoint");
  }

  @Test
  void aFreshStartRefusesAnotherProgramsConfigInOutAndRestartsItsOwn() throws Exception {
    // another tool's directory: a GPT-2 export's config.json must not be overwritten
    var foreign = Files.createDirectories(dir.resolve("foreign"));
    var theirs = "{\"model_type\": \"gpt2\", \"n_embd\": 24}";
    Files.writeString(foreign.resolve("config.json"), theirs);
    var refused = run("sft", "--base", base.toString(), "--out", foreign.toString());
    assertThat(refused.exitCode()).isEqualTo(2);
    assertThat(refused.err().strip())
        .startsWith("rlhf sft: --out " + foreign + " holds a config.json that is not a sft run's (")
        .endsWith("): give an empty or new directory");
    assertThat(Files.readString(foreign.resolve("config.json"))).isEqualTo(theirs);
    assertThat(foreign.resolve("latest.json")).doesNotExist();

    // a run of the same stage that stopped before its first checkpoint left its config.json:
    // the same command starts it again
    var stopped = Files.createDirectories(dir.resolve("stopped"));
    Files.copy(base.resolve("config.json"), stopped.resolve("config.json"));
    Files.writeString(stopped.resolve("pretrain.log"), "a log the user tees into --out\n");
    var again = run(tinyPretrain(stopped));
    assertThat(again.exitCode()).as(again.err()).isZero();
    assertThat(stopped.resolve("latest.json")).exists();
  }

  @Test
  void aSecondRunIntoAnOutInUseIsRefusedBeforeWriting() throws Exception {
    // a pretrain run that has started (config.json written, no checkpoint yet) and holds the lock
    var busy = Files.createDirectories(dir.resolve("busy"));
    Files.copy(base.resolve("config.json"), busy.resolve("config.json"));
    var config = Files.readString(busy.resolve("config.json"));
    try (var first = OutputLock.acquire(busy)) {
      var second = run(tinyPretrain(busy));
      assertThat(second.exitCode()).isEqualTo(2);
      assertThat(second.err().strip())
          .isEqualTo(
              "rlhf pretrain: --out "
                  + busy
                  + " is in use by another pretrain run (this process holds "
                  + OutputLock.FILE
                  + "): one pretrain run per output directory; stop it, or choose another --out");
      assertThat(Files.readString(busy.resolve("config.json"))).isEqualTo(config);
      assertThat(busy.resolve("latest.json")).doesNotExist();
    }
    // once the first run is over, the same command starts it again
    var again = run(tinyPretrain(busy));
    assertThat(again.exitCode()).as(again.err()).isZero();
    assertThat(busy.resolve("latest.json")).exists();

    // with a checkpoint there and its run still writing, "pass --resume" would only meet the lock
    try (var running = OutputLock.acquire(busy)) {
      var second = run(tinyPretrain(busy));
      assertThat(second.exitCode()).isEqualTo(2);
      assertThat(second.err().strip())
          .startsWith("rlhf pretrain: --out " + busy + " is in use by another pretrain run")
          .doesNotContain("--resume");
    }
    // another stage's checkpoint, its run writing or not, is another stage's: named as such
    var heldSft = dir.resolve("held-sft");
    copyTree(sft, heldSft);
    try (var running = OutputLock.acquire(heldSft)) {
      var second = run(tinyPretrain(heldSft));
      assertThat(second.exitCode()).isEqualTo(2);
      assertThat(second.err().strip())
          .isEqualTo(
              "rlhf pretrain: "
                  + heldSft
                  + " already holds a sft checkpoint: choose another --out");
    }
  }

  @Test
  void anOutInsideACheckpointIsRefusedWhereItsPruningWouldDeleteIt() {
    var absoluteBase = base.toAbsolutePath().normalize();
    var next = base.resolve("step-000003");
    var stage = run(tinyPretrain(next));
    assertThat(stage.exitCode()).isEqualTo(2);
    assertThat(stage.err().strip())
        .isEqualTo(
            "rlhf pretrain: --out "
                + next
                + " is inside the checkpoint in "
                + absoluteBase
                + ": choose an --out outside it");
    assertThat(next).doesNotExist();
    var step = base.resolve("step-000002");
    // in the step directory, and deeper: a resume's pruning would take the whole tree
    for (var into : List.of(step, step.resolve("sub"), step.resolve("a").resolve("b"))) {
      var export = run("export-gpt2", "--model", base.toString(), "--out", into.toString());
      assertThat(export.exitCode()).as(into.toString()).isEqualTo(2);
      assertThat(export.err()).contains("is inside the checkpoint in " + absoluteBase);
      assertThat(into.resolve("model.safetensors")).doesNotExist();
    }
    var deep = step.resolve("a").resolve("b");
    var sftDeep = run("sft", "--base", base.toString(), "--out", deep.toString());
    assertThat(sftDeep.exitCode()).isEqualTo(2);
    assertThat(sftDeep.err()).contains("is inside the checkpoint in " + absoluteBase);
    assertThat(step.resolve("a")).doesNotExist();
  }

  @Test
  void aRunThatDivergesSaysSoInOneLine() {
    var args = new ArrayList<>(List.of(tinyPretrain(dir.resolve("diverged"))));
    args.addAll(List.of("--set", "learning_rate=1e30"));
    var run = run(args.toArray(String[]::new));
    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err().strip())
        .matches(
            "rlhf pretrain: the run diverged \\(gradient norm is (NaN|Infinity) at AdamW step \\d+;"
                + " no update taken\\): lower learning_rate \\(--set learning_rate=\\.\\.\\.\\) and"
                + " run again");
  }

  @Test
  void anOutHoldingAnotherStagesCheckpointIsNamedForWhatItHolds() {
    var run = run("sft", "--base", base.toString(), "--out", base.toString());
    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err().strip())
        .isEqualTo(
            "rlhf sft: " + base + " already holds a pretrain checkpoint: choose another --out");
  }

  @Test
  void aCheckpointOfAnotherStageIsRefusedBeforeAnythingIsWritten() {
    var wrongOut = run("sft", "--base", base.toString(), "--out", base.toString(), "--resume");
    assertThat(wrongOut.exitCode()).isEqualTo(2);
    assertThat(wrongOut.err())
        .contains("holds a pretrain checkpoint, not a sft one")
        .doesNotContain("\tat ");
    var out = dir.resolve("ppo-sft-as-rm");
    var wrongRm =
        run(
            "ppo",
            "--sft",
            sft.toString(),
            "--rm",
            sft.toString(),
            "--out",
            out.toString(),
            "--inproc");
    assertThat(wrongRm.exitCode()).isEqualTo(2);
    assertThat(wrongRm.err().strip())
        .isEqualTo(
            "rlhf ppo: --rm "
                + sft
                + " holds a sft checkpoint: give a directory written by rlhf reward or rlhf"
                + " reward-trainer");
    assertThat(out).doesNotExist();
  }

  @Test
  void aModelExportedInGpt2FormatIsPretrainedFromAndResumed() throws Exception {
    var exported = dir.resolve("gpt2");
    var export = run("export-gpt2", "--model", sft.toString(), "--out", exported.toString());
    assertThat(export.exitCode()).as(export.err()).isZero();
    assertThat(export.out()).startsWith("export-gpt2: ").contains(" in " + exported);
    assertThat(exported.resolve("model.safetensors")).isNotEmptyFile();
    var again = run("export-gpt2", "--model", sft.toString(), "--out", exported.toString());
    assertThat(again.exitCode()).isEqualTo(2);
    assertThat(again.err()).contains("already holds config.json: choose another --out");
    var reward =
        run("export-gpt2", "--model", rm.toString(), "--out", dir.resolve("rm-gpt2").toString());
    assertThat(reward.exitCode()).isEqualTo(2);
    assertThat(reward.err())
        .contains(
            "holds a reward checkpoint: give a directory written by rlhf pretrain or rlhf sft or rlhf ppo");
    var underAFile = Files.writeString(dir.resolve("gpt2-parent"), "a file").resolve("gpt2");
    var unwritable = run("export-gpt2", "--model", sft + "", "--out", underAFile + "");
    assertThat(unwritable.exitCode()).isEqualTo(2);
    assertThat(unwritable.err().strip())
        .startsWith("rlhf export-gpt2: cannot write in --out " + underAFile)
        .doesNotContain("\n");

    var continued = dir.resolve("from-gpt2");
    var args = new ArrayList<>(List.of(tinyPretrain(continued)));
    args.addAll(List.of("--gpt2", exported.toString()));
    var pretrain = run(args.toArray(String[]::new));

    assertThat(pretrain.exitCode()).as(pretrain.err()).isZero();
    assertThat(pretrain.out())
        .contains(
            "pretrain: from the GPT-2-format weights in " + exported.toAbsolutePath().normalize())
        .contains("\"shape\" : \"gpt2\"")
        .contains("pretrain step 2/2");
    var saved = JSON.readTree(continued.resolve("config.json").toFile());
    assertThat(saved.get("gpt2_weights").asText())
        .isEqualTo(exported.toAbsolutePath().normalize().toString());
    assertThat(saved.get("gpt2_weights_sha256").asText()).hasSize(64);
    var resumed = run("pretrain", "--out", continued.toString(), "--resume", "--set", "steps=3");
    assertThat(resumed.exitCode()).as(resumed.err()).isZero();
    assertThat(resumed.out())
        .contains("pretrain: resuming at step 2 of 3")
        .contains("pretrain step 3/3");

    var longer = dir.resolve("gpt2-too-long");
    var tooLong =
        run(
            "pretrain",
            "--gpt2",
            exported.toString(),
            "--out",
            longer.toString(),
            "--set",
            "tokens_per_sequence=300");
    assertThat(tooLong.exitCode()).isEqualTo(2);
    assertThat(tooLong.err().strip())
        .isEqualTo(
            "rlhf pretrain: tokens_per_sequence 300 exceeds the --gpt2 weights' context length 256");
    assertThat(longer).as("refused before anything is written").doesNotExist();

    var nothing = dir.resolve("no-gpt2");
    var missing =
        run("pretrain", "--gpt2", nothing.toString(), "--out", dir.resolve("x").toString());
    assertThat(missing.exitCode()).isEqualTo(2);
    assertThat(missing.err().strip())
        .isEqualTo(
            "rlhf pretrain: --gpt2: "
                + nothing
                + " holds no config.json: give a Hugging Face GPT-2 directory");
    var broken = Files.createDirectories(dir.resolve("gpt2-broken-config"));
    Files.writeString(broken.resolve("config.json"), "{\"n_embd\": 24,\n oops}");
    var notJson = run("pretrain", "--gpt2", broken.toString(), "--out", dir.resolve("x") + "");
    assertThat(notJson.exitCode()).isEqualTo(2);
    assertThat(notJson.err().strip())
        .startsWith(
            "rlhf pretrain: --gpt2: "
                + broken.resolve("config.json")
                + " is not JSON (line 2, column 2): Unexpected character")
        .doesNotContain("\n");
    var otherShape =
        run(
            "pretrain",
            "--gpt2",
            nothing.toString(),
            "--set",
            "shape=small",
            "--out",
            dir.resolve("x").toString());
    assertThat(otherShape.exitCode()).isEqualTo(2);
    assertThat(otherShape.err().strip())
        .isEqualTo(
            "rlhf pretrain: --gpt2 takes the shape of its weights (shape=gpt2), and --config or"
                + " --set asks for shape=small: drop that setting");
    var shapeFile = Files.writeString(dir.resolve("small-shape.yaml"), "shape: small\n");
    var inConfig =
        run(
            "pretrain",
            "--gpt2",
            nothing.toString(),
            "--config",
            shapeFile.toString(),
            "--out",
            dir.resolve("x").toString());
    assertThat(inConfig.exitCode()).isEqualTo(2);
    assertThat(inConfig.err()).contains("asks for shape=small: drop that setting");
    var ours = run("pretrain", "--gpt2", base.toString(), "--out", dir.resolve("x").toString());
    assertThat(ours.exitCode()).isEqualTo(2);
    assertThat(ours.err().strip())
        .isEqualTo(
            "rlhf pretrain: --gpt2: "
                + base
                + " is a checkpoint of rlhf, not GPT-2-format weights: write them with rlhf"
                + " export-gpt2 --model "
                + base
                + " --out DIR, and give that DIR");

    // GPT-2 large's shape: refused from its config.json before any weights are read or trained,
    // not at the first checkpoint
    var large = Files.createDirectories(dir.resolve("gpt2-large"));
    Files.writeString(
        large.resolve("config.json"),
        "{\"model_type\": \"gpt2\", \"vocab_size\": 50257, \"n_positions\": 1024,"
            + " \"n_embd\": 1280, \"n_layer\": 36, \"n_head\": 20}");
    var tooLarge = run("pretrain", "--gpt2", large + "", "--out", dir.resolve("y") + "");
    assertThat(tooLarge.exitCode()).isEqualTo(2);
    assertThat(tooLarge.err().strip())
        .isEqualTo(
            "rlhf pretrain: --gpt2: a GPT of d_model 1280, 36 layers, context 1024 has 710,035,201"
                + " parameters: more than the 536,842,861 whose float32 weights fit one weight"
                + " snapshot (a 2 GiB Java array)");
  }

  @Test
  void gpt2WeightsOfAnotherShapeThanTheirConfigAreRefusedBeforeAnythingIsWritten()
      throws IOException {
    var exported = dir.resolve("gpt2-misshapen");
    var export = run("export-gpt2", "--model", base.toString(), "--out", exported.toString());
    assertThat(export.exitCode()).as(export.err()).isZero();
    var config =
        (com.fasterxml.jackson.databind.node.ObjectNode)
            JSON.readTree(exported.resolve("config.json").toFile());
    int width = config.get("n_embd").asInt();
    config.put("n_embd", 2 * width); // n_head still divides it
    JSON.writeValue(exported.resolve("config.json").toFile(), config);
    var out = dir.resolve("from-misshapen");

    var run = run("pretrain", "--gpt2", exported.toString(), "--out", out.toString());

    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err().strip())
        .isEqualTo(
            "rlhf pretrain: --gpt2: "
                + exported.resolve("model.safetensors")
                + ": wte.weight is [260, "
                + width
                + "], config.json makes it [any, "
                + 2 * width
                + "]");
    assertThat(out).as("no config.json or lock left behind").doesNotExist();

    // a header that is not JSON (its length intact): one line, not a stack trace
    var garbled = dir.resolve("gpt2-garbled");
    var again = run("export-gpt2", "--model", base.toString(), "--out", garbled.toString());
    assertThat(again.exitCode()).as(again.err()).isZero();
    var weights = garbled.resolve("model.safetensors");
    try (var file = java.nio.channels.FileChannel.open(weights, StandardOpenOption.WRITE)) {
      file.write(java.nio.ByteBuffer.wrap("garbage!".getBytes(StandardCharsets.US_ASCII)), 8);
    }
    var notJson = run("pretrain", "--gpt2", garbled.toString(), "--out", out.toString());
    assertThat(notJson.exitCode()).isEqualTo(2);
    assertThat(notJson.err().strip())
        .isEqualTo(
            "rlhf pretrain: --gpt2: " + weights + ": not safetensors: its header is not JSON");
    assertThat(out).doesNotExist();
  }

  @Test
  void eachStageRefusesAnInputModelOfTheWrongStage() {
    var out = dir.resolve("wrong-input");
    var cases =
        List.of(
            new String[] {"sft", "--base", sft.toString()},
            new String[] {"reward", "--sft", base.toString()},
            new String[] {"ppo", "--inproc", "--sft", base.toString(), "--rm", rm.toString()},
            new String[] {"ppo", "--inproc", "--sft", rm.toString(), "--rm", rm.toString()},
            new String[] {"ppo", "--inproc", "--sft", sft.toString(), "--rm", base.toString()});
    var wanted = List.of("pretrain", "sft", "sft", "sft", "reward or rlhf reward-trainer");
    var held = List.of("sft", "pretrain", "pretrain", "reward", "pretrain");
    for (int i = 0; i < cases.size(); i++) {
      var args = new ArrayList<>(List.of(cases.get(i)));
      args.addAll(List.of("--out", out.toString()));

      var run = run(args.toArray(String[]::new));

      assertThat(run.exitCode()).as(String.join(" ", args)).isEqualTo(2);
      assertThat(run.err())
          .as(String.join(" ", args))
          .contains(
              " holds a "
                  + held.get(i)
                  + " checkpoint: give a directory written by rlhf "
                  + wanted.get(i))
          .doesNotContain("\tat ");
      assertThat(out).as("--out is left alone").doesNotExist();
    }
  }

  @Test
  void resumeIfPresentStartsAfreshInAnEmptyOutAndContinuesACheckpoint() {
    var args = new ArrayList<>(List.of(tinyPretrain(dir.resolve("supervised"))));
    args.add("--resume-if-present");
    var first = run(args.toArray(String[]::new));
    assertThat(first.exitCode()).as(first.err()).isZero();
    assertThat(first.out()).contains("pretrain step 2/2").doesNotContain("resuming");
    var restarted = run(args.toArray(String[]::new));
    assertThat(restarted.exitCode()).as(restarted.err()).isZero();
    assertThat(restarted.out()).contains("resuming at step 2 of 2").doesNotContain("pretrain step");
  }

  @Test
  void aResumeThatWouldChangeTheModelOrItsDataIsRefusedBeforeWriting() throws Exception {
    var config = Files.readString(base.resolve("config.json"));
    var run = run("pretrain", "--out", base.toString(), "--resume", "--set", "shape=small");
    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err().strip())
        .isEqualTo(
            "rlhf pretrain: --resume: "
                + base
                + " was trained with other settings that define its model or data (shape tiny ->"
                + " small): resume with the run's own values, or start a new run in another --out");
    assertThat(Files.readString(base.resolve("config.json"))).isEqualTo(config);
  }

  /**
   * A resume layers the command line over the run's own config.json: a partial --config keeps the
   * run's other settings (it used to replace the base, and they fell back to the defaults), and a
   * --preset that would change the model is refused (it used to be outranked, unseen).
   */
  @Test
  void aResumeChangesTheRunsOwnSettingsWithWhatTheCommandLineGives() throws Exception {
    var out = dir.resolve("layered");
    var first = run(tinyPretrain(out));
    assertThat(first.exitCode()).as(first.err()).isZero();
    var longer = Files.writeString(dir.resolve("longer.yaml"), "steps: 3\n");

    var resumed =
        run("pretrain", "--out", out.toString(), "--resume", "--config", longer.toString());
    assertThat(resumed.exitCode()).as(resumed.err()).isZero();
    assertThat(resumed.out()).contains("resuming at step 2 of 3").contains("pretrain step 3/3");
    var config = Files.readString(out.resolve("config.json"));
    assertThat(config)
        .contains("\"steps\" : 3")
        .contains("\"warmup_steps\" : 1")
        .contains("\"tokens_per_sequence\" : 16");

    var preset = run("pretrain", "--out", out.toString(), "--resume", "--preset", "full");
    assertThat(preset.exitCode()).isEqualTo(2);
    assertThat(preset.err().strip())
        .startsWith("rlhf pretrain: --resume: " + out + " was trained with other settings")
        .contains("shape tiny -> small");
    assertThat(Files.readString(out.resolve("config.json"))).isEqualTo(config);
  }

  /** A demo over an earlier demo of another preset: the advice is the demo's, not a stage's. */
  @Test
  void aDemoOverAnotherPresetsWorkdirSaysHowToGoOn() {
    var workdir = dir.resolve("demo-tiny");
    var first = run(tinyPretrain(workdir.resolve("base")));
    assertThat(first.exitCode()).as(first.err()).isZero();

    var full = run("demo", "--preset", "full", "--workdir", workdir.toString());
    assertThat(full.exitCode()).isEqualTo(2);
    assertThat(full.out())
        .contains(
            "demo: --workdir "
                + workdir
                + " holds an earlier demo's pretrain: run the demo as that one ran (its --preset),"
                + " or give another --workdir");
  }

  /** Samples all alike (a temperature near 0) leave nothing to rank: the settings' fault. */
  @Test
  void identicalSamplesAreTheSettingsMistakeNotAnInternalError() {
    var out = dir.resolve("rm-identical");
    var run = run(tinyReward(sft, out, "--set", "sampling_temperature=1e-30"));
    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err().strip())
        .isEqualTo(
            "rlhf reward: every prompt's K SFT samples are identical: nothing to rank (raise"
                + " sampling_temperature or responses_per_prompt)");
  }

  @Test
  void aResumeIsRefusedAnInputModelWithOtherWeightsAndAcceptsTheSameOneMoved() throws Exception {
    var out = dir.resolve("rm-inputs");
    var fresh = run(tinyReward(sft, out));
    assertThat(fresh.exitCode()).as(fresh.err()).isZero();
    assertThat(Files.readString(out.resolve("inputs.json")))
        .contains("\"--sft\"", "\"weights_sha256\"", sft.toString());

    // another SFT model: the same stage from the same base with another seed
    var other = dir.resolve("sft-other");
    var sftOther =
        run(
            "sft",
            "--base",
            base.toString(),
            "--out",
            other.toString(),
            "--set",
            "steps=1",
            "--set",
            "demonstrations_per_batch=2",
            "--set",
            "warmup_steps=1",
            "--set",
            "seed=7");
    assertThat(sftOther.exitCode()).as(sftOther.err()).isZero();
    // PPO from the other SFT model with the reward model trained on the first: its score's
    // likelihood term and statistics would be the first one's
    var ppoOut = dir.resolve("ppo-other-sft");
    var mismatched =
        run(
            "ppo",
            "--inproc",
            "--sft",
            other.toString(),
            "--rm",
            out.toString(),
            "--out",
            ppoOut.toString());
    assertThat(mismatched.exitCode()).isEqualTo(2);
    assertThat(mismatched.err().strip())
        .startsWith("rlhf ppo: --rm " + out + " was trained on the SFT model in " + sft)
        .contains("not on --sft " + other)
        .endsWith("train a reward model on this one (rlhf reward --sft " + other + " --out DIR)");
    assertThat(ppoOut).doesNotExist();
    // nor may a live reward trainer start from it (refused before it looks for a broker)
    var trainerOut = dir.resolve("trainer-other-sft");
    var trainer =
        run(
            "reward-trainer",
            "--bootstrap",
            "127.0.0.1:1",
            "--sft",
            other.toString(),
            "--rm",
            out.toString(),
            "--out",
            trainerOut.toString());
    assertThat(trainer.exitCode()).isEqualTo(2);
    assertThat(trainer.err().strip())
        .startsWith("rlhf reward-trainer: --rm " + out + " was trained on the SFT model in " + sft);
    assertThat(trainerOut).doesNotExist();
    var inputs = Files.readString(out.resolve("inputs.json"));
    var refused = run(tinyReward(other, out, "--resume"));
    assertThat(refused.exitCode()).isEqualTo(2);
    assertThat(refused.err().strip())
        .startsWith("rlhf reward: --resume: " + out + " began with --sft " + sft + ", and " + other)
        .endsWith("resume with the run's own --sft, or start a new run in another --out");
    assertThat(Files.readString(out.resolve("inputs.json"))).isEqualTo(inputs);

    // the same weights under another path are the same input
    var moved = dir.resolve("sft-moved");
    copyTree(sft, moved);
    var checkpoints = stepDirectories(out);
    var resumed = run(tinyReward(moved, out, "--resume"));
    assertThat(resumed.exitCode()).as(resumed.err()).isZero();
    // the run had finished: its figures again, and no second checkpoint at its last step
    assertThat(resumed.out()).contains("reward: held-out pairwise accuracy");
    assertThat(stepDirectories(out)).isEqualTo(checkpoints).noneMatch(d -> d.contains("again"));
  }

  private static List<String> stepDirectories(Path out) throws IOException {
    try (var files = Files.list(out)) {
      return files
          .map(p -> p.getFileName().toString())
          .filter(name -> name.startsWith("step-"))
          .sorted()
          .toList();
    }
  }

  @Test
  void aRewardRunsCheckpointFromBeforeItsStatisticsIsRefusedInOneLine() throws Exception {
    // the pointer at the reward run's first checkpoint, taken before it measured its statistics
    var early = dir.resolve("rm-early");
    copyTree(rm, early);
    var previous = Checkpoint.latest(early).previous();
    assertThat(previous).as("an earlier checkpoint kept").isNotNull();
    Files.writeString(
        early.resolve(Checkpoint.LATEST),
        "{\"step\": 0, \"directory\": \"" + previous + "\", \"previous\": null}");
    var out = dir.resolve("ppo-early-rm");
    var run =
        run(
            "ppo",
            "--inproc",
            "--sft",
            sft.toString(),
            "--rm",
            early.toString(),
            "--out",
            out.toString());
    assertThat(run.exitCode()).as(run.err()).isEqualTo(2);
    assertThat(run.err().strip())
        .startsWith("rlhf ppo: --rm: " + early + " is not a reward-model checkpoint")
        .doesNotContain("\n");
    assertThat(out).doesNotExist();
  }

  @Test
  void aRewardResumeOnDamagedRankedSetsSaysSoInOneLine() throws Exception {
    var out = dir.resolve("rm-damaged");
    copyTree(rm, out);
    var sets = out.resolve("ranked-sets.json");
    var bytes = Files.readAllBytes(sets);
    Files.write(sets, java.util.Arrays.copyOf(bytes, bytes.length / 2));
    var resumed = run(tinyReward(sft, out, "--resume"));
    assertThat(resumed.exitCode()).isEqualTo(2);
    assertThat(resumed.err().strip())
        .startsWith("rlhf reward: " + sets + " is damaged (")
        .endsWith(
            "): the reward run's ranked sets cannot be read: restore the checkpoint from a copy")
        .doesNotContain("\n");
  }

  /** {@code rlhf reward} of the SFT model in {@code sftDir} on 8 + 4 prompts into {@code out}. */
  @Test
  void aResumeMissingTheRunsSettingsOrDataIsRefusedInOneLine() throws Exception {
    var out = dir.resolve("rm-lost-files");
    var fresh = run(tinyReward(sft, out));
    assertThat(fresh.exitCode()).as(fresh.err()).isZero();
    var copy = dir.resolve("rm-lost-files-copy");
    copyTree(out, copy);

    // without config.json the defaults would train the run's weights as another run's
    Files.delete(out.resolve("config.json"));
    var noConfig = run(tinyReward(sft, out, "--resume"));
    assertThat(noConfig.exitCode()).isEqualTo(2);
    assertThat(noConfig.err().strip())
        .isEqualTo(
            "rlhf reward: --resume: "
                + out
                + " has no config.json, the settings its run began with: restore it from a copy,"
                + " or start a new run in another --out");
    assertThat(out.resolve("config.json")).doesNotExist();

    // without its ranked prompts a resume would train on other data
    Files.delete(copy.resolve("ranked-sets.json"));
    var noData = run(tinyReward(sft, copy, "--resume"));
    assertThat(noData.exitCode()).isEqualTo(2);
    assertThat(noData.err().strip())
        .startsWith("rlhf reward: " + copy + " has no ranked-sets.json to resume on")
        .doesNotContain("internal error");
  }

  private static String[] tinyReward(Path sftDir, Path out, String... more) {
    var args =
        new ArrayList<>(
            List.of(
                "reward",
                "--sft",
                sftDir.toString(),
                "--out",
                out.toString(),
                "--set",
                "training_prompts=8",
                "--set",
                "held_out_prompts=4",
                "--set",
                "prompts_per_batch=4"));
    args.addAll(List.of(more));
    return args.toArray(String[]::new);
  }

  private static void copyTree(Path from, Path to) throws java.io.IOException {
    try (var paths = Files.walk(from)) {
      for (var p : paths.toList()) {
        Files.copy(p, to.resolve(from.relativize(p).toString()));
      }
    }
  }

  @Test
  void aResumeThatWouldEndBeforeItsCheckpointIsRefusedBeforeWriting() throws Exception {
    var config = Files.readString(base.resolve("config.json"));
    var run = run("pretrain", "--out", base.toString(), "--resume", "--set", "steps=1");
    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err().strip())
        .isEqualTo(
            "rlhf pretrain: --resume: "
                + base
                + " holds step 2, and steps=1 ends the run at step 1: resume with the run's own"
                + " value or a larger one");
    assertThat(Files.readString(base.resolve("config.json"))).isEqualTo(config);
  }

  @Test
  void aModelShapeOrSequenceLengthThatCannotBeIsAUsageError() {
    var out = dir.resolve("never");
    var shape = run("pretrain", "--out", out.toString(), "--set", "shape=huge");
    assertThat(shape.exitCode()).isEqualTo(2);
    assertThat(shape.err())
        .contains("shape must be tiny or small (gpt2 comes with gpt2_weights), got huge")
        .doesNotContain("\tat ");
    var length = run("pretrain", "--out", out.toString(), "--set", "tokens_per_sequence=1000");
    assertThat(length.exitCode()).isEqualTo(2);
    assertThat(length.err())
        .contains("tokens_per_sequence must be at most the tiny model's context length 256")
        .doesNotContain("\tat ");
    assertThat(out).doesNotExist();
  }

  @Test
  void evalRefusesAPolicyAsItsRewardModelAndALimitBelowOnePromptPerFamily() {
    var out = dir.resolve("eval-refused");
    var wrongRm =
        run("eval", "--sft", sft.toString(), "--rm", sft.toString(), "--out", out.toString());
    assertThat(wrongRm.exitCode()).isEqualTo(2);
    assertThat(wrongRm.err().strip())
        .isEqualTo(
            "rlhf eval: --rm "
                + sft
                + " holds a sft checkpoint: give a directory written by rlhf reward or rlhf"
                + " reward-trainer");
    var limit = run("eval", "--sft", sft.toString(), "--out", out.toString(), "--limit", "3");
    assertThat(limit.exitCode()).isEqualTo(2);
    assertThat(limit.err().strip())
        .isEqualTo(
            "rlhf eval: --limit must be at least 8 (N/8 prompts of each of the 8 families), got 3");
    // 100,000 ran the machine out of memory, killed without a word
    var wins =
        run("eval", "--sft", sft.toString(), "--out", out.toString(), "--win-samples", "100000");
    assertThat(wins.exitCode()).isEqualTo(2);
    assertThat(wins.err().strip())
        .isEqualTo(
            "rlhf eval: --win-samples must be at most 256, got 100000: the estimate's error is over"
                + " the prompts, which more samples per prompt do not shrink");
    assertThat(out).doesNotExist();
  }

  /**
   * Models of another pipeline or stage may fill rows, and eval says so: the SFT columns mean less
   * then.
   */
  @Test
  void evalNotesAModelTrainedFromAnotherSftThanItsSftRow() {
    java.util.function.Function<Path, CliRun> evalAsSft =
        sftRow ->
            run(
                "eval",
                "--models",
                "sft",
                "--sft",
                sftRow.toString(),
                "--rm",
                rm.toString(),
                "--out",
                dir.resolve("eval-sft-" + sftRow.getFileName()).toString(),
                "--limit",
                "8",
                "--win-samples",
                "0");
    var other = evalAsSft.apply(base);
    assertThat(other.exitCode()).as(other.err()).isZero();
    assertThat(other.out())
        .contains(
            "eval: note: --rm "
                + rm
                + " fitted its likelihood weight on the SFT model in "
                + sft.toAbsolutePath().normalize()
                + ", not on --sft "
                + base
                + ": eval computes that term with --sft")
        // a row labelled by a stage its model did not come from
        .contains(
            "eval: note: --sft "
                + base
                + " holds a pretrain checkpoint, not rlhf sft's: its row is labelled SFT (and win"
                + " vs SFT and KL to SFT measure against it)");
    var same = evalAsSft.apply(sft);
    assertThat(same.exitCode()).as(same.err()).isZero();
    assertThat(same.out()).doesNotContain("eval: note:");
  }

  @Test
  void evalRefusesAnOutItCannotWriteOrThatHoldsAModelBeforeSampling() throws Exception {
    var sftFiles = Files.list(sft).map(p -> p.getFileName().toString()).sorted().toList();
    var intoModel = run("eval", "--models", "sft", "--sft", sft + "", "--out", sft + "");
    assertThat(intoModel.exitCode()).isEqualTo(2);
    assertThat(intoModel.err().strip())
        .isEqualTo(
            "rlhf eval: --out " + sft + " holds a checkpoint: give eval a directory of its own");
    // a step directory: the run's next checkpoint would delete it with eval's files
    var step = sft.resolve(Checkpoint.latest(sft).directory());
    var intoStep = run("eval", "--models", "sft", "--sft", sft + "", "--out", step + "");
    assertThat(intoStep.exitCode()).isEqualTo(2);
    assertThat(intoStep.err().strip())
        .isEqualTo(
            "rlhf eval: --out "
                + step
                + " is inside the checkpoint in "
                + sft
                + ": choose an --out outside it");
    assertThat(Files.list(sft).map(p -> p.getFileName().toString()).sorted().toList())
        .isEqualTo(sftFiles);
    // a parent that is a file: unwritable even for root
    var file = Files.writeString(dir.resolve("eval-parent"), "a file");
    var unwritable =
        run("eval", "--models", "sft", "--sft", sft + "", "--out", file.resolve("eval") + "");
    assertThat(unwritable.exitCode()).isEqualTo(2);
    assertThat(unwritable.err().strip())
        .startsWith("rlhf eval: cannot write in --out " + file.resolve("eval"))
        .endsWith("choose another --out")
        .doesNotContain("eval: row"); // refused before any sampling
  }

  /**
   * A disk that refuses a checkpoint (the kernel's real ENOSPC: the pointer's temporary file is a
   * link to /dev/full) is the machine's failure: exit 4, one line naming the step and the one still
   * in force, and a resume once the disk has room continues from it.
   */
  @Test
  void aFullDiskStopsAStageWithTheCheckpointInForceNamed() throws Exception {
    Assumptions.assumeTrue(Files.isWritable(Path.of("/dev/full")), "needs Linux's /dev/full");
    var out = dir.resolve("base-full-disk");
    var args = new ArrayList<>(List.of(tinyPretrain(out)));
    args.addAll(List.of("--set", "checkpoint_every_steps=1"));
    var first = run(args.toArray(String[]::new));
    assertThat(first.exitCode()).as(first.err()).isZero();
    Files.createSymbolicLink(out.resolve("latest.json.tmp"), Path.of("/dev/full"));
    var more = List.of("pretrain", "--out", out.toString(), "--resume", "--set", "steps=3");
    var full = run(more.toArray(String[]::new));
    assertThat(full.exitCode()).isEqualTo(4);
    assertThat(full.err().strip())
        .isEqualTo(
            "rlhf pretrain: cannot write the checkpoint of step 3 in "
                + out
                + ": No space left on device; the one in force is still step-000002, which a"
                + " resume continues from");
    assertThat(Checkpoint.latest(out).step()).isEqualTo(2);
    try (var left = Files.list(out)) {
      assertThat(left.map(p -> p.getFileName().toString()))
          .as(
              "step 3's directory and the pointer's temporary file are gone, their space given back")
          .containsExactlyInAnyOrder(
              "config.json", "latest.json", "step-000001", "step-000002", OutputLock.FILE);
    }
    var resumed = run(more.toArray(String[]::new));
    assertThat(resumed.exitCode()).as(resumed.err()).isZero();
    assertThat(resumed.out()).contains("pretrain: resuming at step 2 of 3");
    assertThat(Checkpoint.latest(out).step()).isEqualTo(3);
  }

  /** export-gpt2 on a full disk names the file it could not write and gives its space back. */
  @Test
  void exportOnAFullDiskNamesTheFileAndLeavesNoPartOfIt() throws Exception {
    Assumptions.assumeTrue(Files.isWritable(Path.of("/dev/full")), "needs Linux's /dev/full");
    var out = Files.createDirectories(dir.resolve("export-full-disk"));
    var partial = out.resolve("model.safetensors.partial");
    Files.createSymbolicLink(partial, Path.of("/dev/full"));
    var export = run("export-gpt2", "--model", sft.toString(), "--out", out.toString());
    assertThat(export.exitCode()).isEqualTo(4);
    assertThat(export.err().strip())
        .isEqualTo(
            "rlhf export-gpt2: cannot write "
                + out.resolve("model.safetensors")
                + ": No space left on device");
    try (var left = Files.list(out)) {
      assertThat(left).as("neither the weights nor their partial file").isEmpty();
    }
  }

  /** eval prints its table before writing any file: a disk that refuses them loses no result. */
  @Test
  void evalOnAFullDiskPrintsTheTableAndNamesTheFileItCouldNotWrite() throws Exception {
    Assumptions.assumeTrue(Files.isWritable(Path.of("/dev/full")), "needs Linux's /dev/full");
    var out = Files.createDirectories(dir.resolve("eval-full-disk"));
    Files.createSymbolicLink(out.resolve("eval.jsonl"), Path.of("/dev/full"));
    var eval =
        run(
            "eval",
            "--models",
            "sft",
            "--sft",
            sft.toString(),
            "--out",
            out.toString(),
            "--limit",
            "8",
            "--win-samples",
            "0");
    assertThat(eval.exitCode()).isEqualTo(4);
    assertThat(eval.out()).contains("| SFT | ");
    assertThat(eval.err().lines().reduce((a, b) -> b).orElseThrow())
        .isEqualTo(
            "rlhf eval: cannot write " + out.resolve("eval.jsonl") + ": No space left on device");
    assertThat(eval.err()).doesNotContain("\tat ");
  }

  @Test
  void aCorruptInputModelIsNamedWithWhatIsWrongInOneLine() throws Exception {
    var corrupt = dir.resolve("sft-corrupt");
    copyTree(sft, corrupt);
    var step = Checkpoint.latest(corrupt).directory();
    var weights = corrupt.resolve(step).resolve(Checkpoint.WEIGHTS);
    var bytes = Files.readAllBytes(weights);
    bytes[bytes.length / 2] ^= (byte) 0xff;
    Files.write(weights, bytes);
    var run = run("reward", "--sft", corrupt + "", "--out", dir.resolve("rm-from-corrupt") + "");
    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err().strip())
        .startsWith("rlhf reward: --sft " + corrupt + " holds a checkpoint that cannot be read (")
        .contains("weights.bin fails its SHA-256")
        .contains("restore it from a copy")
        .doesNotContain("\n");
    assertThat(dir.resolve("rm-from-corrupt")).doesNotExist();
  }

  @Test
  void aFileOutputAmongACheckpointsOwnFilesIsRefused() throws Exception {
    var prompts = Files.writeString(dir.resolve("into-ckpt.txt"), "Reverse cat.\n");
    var config = Files.readString(sft.resolve("config.json"));
    var step = sft.resolve(Checkpoint.latest(sft).directory());
    for (var out :
        List.of(
            sft.resolve("config.json"),
            step.resolve("samples.jsonl"),
            sft.resolve("sub").resolve("samples.jsonl"))) {
      var run = run("generate", "--model", sft + "", "--prompts", prompts + "", "--out", out + "");
      assertThat(run.exitCode()).as(out.toString()).isEqualTo(2);
      assertThat(run.err().strip())
          .startsWith("rlhf generate: --out " + out + " is inside the checkpoint in ");
    }
    assertThat(Files.readString(sft.resolve("config.json"))).isEqualTo(config);
    assertThat(step.resolve("samples.jsonl")).doesNotExist();
    assertThat(sft.resolve("sub")).as("refused before any directory is made").doesNotExist();
  }

  @Test
  void aRewardModelIsRefusedWhereALanguageModelSamples() throws Exception {
    var prompts = Files.writeString(dir.resolve("rm-prompts.txt"), "Reverse cat.\n");
    var generate =
        run(
            "generate",
            "--model",
            rm.toString(),
            "--prompts",
            prompts.toString(),
            "--out",
            dir.resolve("rm-samples.jsonl").toString());
    assertThat(generate.exitCode()).isEqualTo(2);
    assertThat(generate.err().strip())
        .isEqualTo(
            "rlhf generate: --model "
                + rm
                + " holds a reward checkpoint: give a directory written by rlhf pretrain or rlhf"
                + " sft or rlhf ppo");
    assertThat(dir.resolve("rm-samples.jsonl")).doesNotExist();

    var out = dir.resolve("eval-rm-row");
    var eval =
        run("eval", "--sft", sft.toString(), "--ppo", rm.toString(), "--out", out.toString());
    assertThat(eval.exitCode()).isEqualTo(2);
    assertThat(eval.err()).startsWith("rlhf eval: --ppo " + rm + " holds a reward checkpoint");
    assertThat(out).doesNotExist();
  }

  @Test
  void pretrainOnAUsersCorpusKeepsItInTheConfigAndRefusesFilesThatAreNoText() throws Exception {
    // the flag, and the setting it stands for (with a path that is not yet normal)
    for (var way : List.of("--corpus", "--set")) {
      var text =
          Files.writeString(
              dir.resolve("own" + way + ".txt"), "the cat sat on the mat.\n".repeat(8));
      var sub = Files.createDirectories(dir.resolve("sub"));
      var given = sub.resolve("..").resolve(text.getFileName()).toString();
      var out = dir.resolve("own-base" + way);
      var args = new ArrayList<>(List.of(tinyPretrain(out)));
      args.addAll(way.equals("--corpus") ? List.of(way, given) : List.of(way, "corpus=" + given));
      var run = run(args.toArray(String[]::new));
      assertThat(run.exitCode()).as(run.err()).isZero();
      var saved = JSON.readTree(out.resolve("config.json").toFile());
      assertThat(saved.get("corpus").asText())
          .isEqualTo(text.toAbsolutePath().normalize().toString());
      assertThat(saved.get("corpus_sha256").asText()).hasSize(64);
      // the text changed under a run that would resume on it
      Files.writeString(text, "a different text\n");
      var changed = run("pretrain", "--out", out.toString(), "--resume");
      assertThat(changed.exitCode()).as(way).isEqualTo(2);
      assertThat(changed.err()).contains("has changed since the run began").doesNotContain("\tat ");
      // a new run from the old run's config.json names the file as it was
      var again = dir.resolve("own-again" + way);
      var fromConfig =
          run("pretrain", "--out", again.toString(), "--config", out.resolve("config.json") + "");
      assertThat(fromConfig.exitCode()).as(way).isEqualTo(2);
      assertThat(fromConfig.err())
          .contains("is not the file corpus_sha256 names")
          .doesNotContain("\tat ");
      assertThat(again).doesNotExist();
      // that config with another corpus named: the config's hash is of its own corpus, not this one
      var other = Files.writeString(dir.resolve("other" + way + ".txt"), "another text\n");
      var otherCorpus =
          run(
              "pretrain",
              "--out",
              again.toString(),
              "--config",
              out.resolve("config.json") + "",
              "--set",
              "corpus=" + other);
      assertThat(otherCorpus.exitCode()).as(otherCorpus.err()).isZero();
      assertThat(JSON.readTree(again.resolve("config.json").toFile()).get("corpus").asText())
          .isEqualTo(other.toAbsolutePath().normalize().toString());
    }

    var latin1 =
        Files.write(
            dir.resolve("latin1.txt"), "ok\ncaf\u00e9\n".getBytes(StandardCharsets.ISO_8859_1));
    for (var bad : List.of(latin1, dir.resolve("missing.txt"))) {
      var refused =
          run("pretrain", "--out", dir.resolve("never").toString(), "--corpus", bad.toString());
      assertThat(refused.exitCode()).as(refused.err()).isEqualTo(2);
      assertThat(refused.err())
          .startsWith("rlhf pretrain: --corpus")
          .containsAnyOf(
              "is not UTF-8 text at line 2: byte 0xE9 at byte 4 of the line", "no such file")
          .doesNotContain("\tat ");
    }
    assertThat(dir.resolve("never")).doesNotExist();
  }

  @Test
  void sftRecordsItsBaseAndAResumeFromAnotherBaseIsRefused() throws Exception {
    assertThat(Files.readString(sft.resolve("inputs.json")))
        .contains("\"--base\"", "\"weights_sha256\"", base.toString());
    var otherBase = dir.resolve("base-other");
    var args = new ArrayList<>(List.of(tinyPretrain(otherBase)));
    args.addAll(List.of("--set", "seed=9"));
    assertThat(run(args.toArray(String[]::new)).exitCode()).isZero();
    var refused = run("sft", "--base", otherBase.toString(), "--out", sft.toString(), "--resume");
    assertThat(refused.exitCode()).isEqualTo(2);
    assertThat(refused.err().strip())
        .startsWith(
            "rlhf sft: --resume: " + sft + " began with --base " + base + ", and " + otherBase);
  }

  @Test
  void resumeOfAFinishedRunReadsItsSavedConfigAndTakesNoMoreSteps() {
    var run = run("sft", "--base", base.toString(), "--out", sft.toString(), "--resume");
    assertThat(run.exitCode()).as(run.err()).isZero();
    assertThat(run.out())
        .contains("\"steps\" : 2")
        .contains("resuming at step 2 of 2")
        .contains("sft: done, no step left to take; SFT model in " + sft)
        .doesNotContain("sft step");
  }

  @Test
  void generateWritesExactlyPromptResponseTerminatedForJsonAndPlainPrompts() throws Exception {
    var prompts = dir.resolve("prompts.txt");
    Files.write(
        prompts,
        List.of(
            "{\"prompt\":\"Reverse cat.\\n\",\"family\":\"reverse\",\"reference\":\"tac\"}",
            "Uppercase dog.",
            ""));
    var out = dir.resolve("responses.jsonl");
    java.util.function.BiFunction<Path, List<String>, CliRun> generate =
        (file, more) -> {
          var args =
              new ArrayList<>(
                  List.of(
                      "generate",
                      "--model",
                      sft.toString(),
                      "--prompts",
                      prompts.toString(),
                      "--out",
                      file.toString()));
          args.addAll(more);
          return run(args.toArray(String[]::new));
        };
    var run = generate.apply(out, List.of("--samples", "2", "--temperature", "0.7"));
    assertThat(run.exitCode()).as(run.err()).isZero();
    var lines = Files.readAllLines(out);
    assertThat(lines).hasSize(4);
    for (var line : lines) {
      var node = JSON.readTree(line);
      assertThat(node.fieldNames())
          .toIterable()
          .containsExactly("prompt", "response", "terminated");
      assertThat(node.get("response").isTextual()).isTrue();
      assertThat(node.get("terminated").isBoolean()).isTrue();
    }
    assertThat(JSON.readTree(lines.get(0)).get("prompt").asText()).isEqualTo("Reverse cat.\n");
    assertThat(JSON.readTree(lines.get(3)).get("prompt").asText()).isEqualTo("Uppercase dog.\n");
    // the output is valid input for rlhf grade
    var graded =
        run("grade", "--in", out.toString(), "--out", dir.resolve("graded.jsonl").toString());
    assertThat(graded.exitCode()).as(graded.err()).isZero();
    // batches of 3 cut across a prompt's samples: response i is seeded by i, the file the same
    var batched = dir.resolve("batched.jsonl");
    var inThrees =
        generate.apply(
            batched, List.of("--samples", "2", "--temperature", "0.7", "--prompts-per-batch", "3"));
    assertThat(inThrees.exitCode()).as(inThrees.err()).isZero();
    assertThat(inThrees.out()).contains("generate: 3/4 responses").contains("generate: 4/4");
    assertThat(Files.readAllLines(batched)).isEqualTo(lines);
    // more responses than an int numbers: refused before the model loads
    var tooMany = generate.apply(batched, List.of("--samples", "1500000000"));
    assertThat(tooMany.exitCode()).isEqualTo(2);
    assertThat(tooMany.err())
        .contains("--samples 1500000000 for 2 prompts would be 3000000000 responses");
  }

  @Test
  void runningOutOfMemoryIsOneLineThatSaysWhatToDo() throws Exception {
    var prompts = Files.writeString(dir.resolve("one-prompt.txt"), "Reverse cat.\n");
    var never = dir.resolve("never-written.jsonl");
    var generate =
        List.of(
            "generate",
            "--model",
            sft.toString(),
            "--prompts",
            prompts.toString(),
            "--out",
            never.toString());
    // a batch of two billion prompts does not fit a 64 MB heap
    var heap = new ArrayList<>(generate);
    heap.addAll(List.of("--samples", "2000000000", "--prompts-per-batch", "2000000000"));
    assertThat(rlhfInChildJvm("-Xmx64m", heap))
        .containsExactly(
            "rlhf generate: out of memory (Java heap space): a setting asks for more than this JVM"
                + " holds (samples, prompts per batch, the model's size); ask for less, or give it"
                + " more with RLHF_JAVA_OPTS=-Xmx<size>");
    // the model's weights live in direct memory: there the heap's flag would not help
    assertThat(rlhfInChildJvm("-XX:MaxDirectMemorySize=64k", generate))
        .singleElement(as(InstanceOfAssertFactories.STRING))
        .startsWith("rlhf generate: out of memory (")
        .endsWith(
            "RLHF_JAVA_OPTS=-XX:MaxDirectMemorySize=<size> (model weights and activations live there)");
    assertThat(never).doesNotExist();
  }

  /**
   * Runs rlhf with {@code args} in a JVM of its own started with {@code jvmOption}; returns the
   * lines of its standard error that rlhf wrote, once it exited 1 with no stack trace.
   */
  private static List<String> rlhfInChildJvm(String jvmOption, List<String> args) throws Exception {
    var process =
        CliRun.inChildJvm(List.of(jvmOption, "-Dai.djl.offline=true"), args.toArray(String[]::new))
            .redirectOutput(ProcessBuilder.Redirect.DISCARD)
            .start();
    var err = new String(process.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(process.waitFor()).as(err).isEqualTo(1);
    assertThat(err).doesNotContain("\tat ");
    return err.lines().filter(line -> line.startsWith("rlhf")).toList();
  }

  @Test
  void generateContinuesTextAsWrittenOnlyWhenAsked() throws Exception {
    var prompts = dir.resolve("continue.jsonl");
    Files.write(prompts, List.of("{\"prompt\":\"The sky is\"}", "The snow is"));
    var empty = dir.resolve("empty.jsonl");
    Files.write(empty, List.of("{\"prompt\":\"\"}"));
    var continued = dir.resolve("continued.jsonl");
    var answered = dir.resolve("answered.jsonl");
    var never = dir.resolve("never.jsonl");

    var asWritten = generateFromBase(prompts, continued, "--continue-text");
    var asInstructions = generateFromBase(prompts, answered);
    var refused = generateFromBase(empty, never, "--continue-text");

    assertThat(asWritten.exitCode()).as(asWritten.err()).isZero();
    assertThat(Files.readAllLines(continued))
        .extracting(line -> JSON.readTree(line).get("prompt").asText())
        .containsExactly("The sky is", "The snow is");
    assertThat(asInstructions.exitCode()).as(asInstructions.err()).isZero();
    assertThat(Files.readAllLines(answered))
        .extracting(line -> JSON.readTree(line).get("prompt").asText())
        .containsExactly("The sky is\n", "The snow is\n");
    assertThat(refused.exitCode()).isEqualTo(2);
    assertThat(refused.err()).contains(empty + ":1: \"prompt\" is empty: nothing to continue");
    assertThat(never).doesNotExist();
  }

  private CliRun generateFromBase(Path prompts, Path out, String... flags) {
    var args = new ArrayList<>(List.of("generate", "--model", base.toString()));
    args.addAll(List.of("--prompts", prompts.toString(), "--out", out.toString()));
    args.addAll(List.of(flags));
    return run(args.toArray(String[]::new));
  }

  @Test
  void evalWritesTableAndOneLinePerModelAndPrompt() throws Exception {
    var out = dir.resolve("eval");
    var run =
        run(
            "eval",
            "--models",
            "base,base-3shot,sft,ppo", // base names both base rows: the 3-shot row is named twice
            "--base",
            base.toString(),
            "--sft",
            sft.toString(),
            "--out",
            out.toString(),
            "--limit",
            "16",
            "--prompts-per-batch",
            "8");
    assertThat(run.exitCode()).as(run.err()).isZero();
    // each row names the checkpoint it sampled (a corrupt newest one gives way to an earlier one)
    assertThat(run.out() + run.err())
        .contains("eval: SFT (step-000002 of " + sft + ") sampled and scored on 16 prompts");
    var lines = Files.readAllLines(out.resolve("eval.jsonl"));
    assertThat(lines).hasSize(3 * 16); // base, base 3-shot, sft: each row once
    var first = JSON.readTree(lines.get(0));
    assertThat(first.fieldNames())
        .toIterable()
        .containsExactly(
            "model",
            "prompt",
            "family",
            "reference",
            "response",
            "terminated",
            "score",
            "rm_score",
            "kl",
            "response_tokens");
    assertThat(first.get("model").asText()).isEqualTo("base");
    assertThat(first.get("rm_score").isNull()).isTrue();
    // the SFT row's KL to itself is exactly 0
    var sftLine = JSON.readTree(lines.get(2 * 16));
    assertThat(sftLine.get("model").asText()).isEqualTo("sft");
    assertThat(sftLine.get("kl").asDouble()).isEqualTo(0.0);
    // a base response never contains the newline it was cut at
    for (int i = 0; i < 32; i++)
      assertThat(JSON.readTree(lines.get(i)).get("response").asText()).doesNotContain("\n");
    // the length counts sampled tokens: where the bytes were valid UTF-8, the text's bytes and the
    // stop token; where a tiny model's bytes were not, no more than were sampled
    int valid = 0;
    for (var line : lines) {
      var record = JSON.readTree(line);
      var response = record.get("response").asText();
      int tokens = record.get("response_tokens").asInt();
      int stop = record.get("terminated").asBoolean() ? 1 : 0;
      assertThat(tokens).as(line).isBetween(stop, 48 + stop);
      if (!response.contains("\uFFFD")) {
        valid++;
        assertThat(tokens)
            .as(line)
            .isEqualTo(response.getBytes(StandardCharsets.UTF_8).length + stop);
      }
    }
    assertThat(valid).as("responses that decode cleanly").isPositive();
    var table = Files.readString(out.resolve("table.md"));
    assertThat(table)
        .contains("| base |")
        .contains("| base 3-shot |")
        .contains("| SFT |")
        .doesNotContain("| PPO |");
    assertThat(run.out()).contains("| SFT |").contains("row ppo skipped");
    assertThat(out.resolve("win.json")).as("no ppo row, no win estimate").doesNotExist();
    assertThat(out.resolve("headroom.json")).as("an sft row: SFT's best of N").exists();
  }

  /**
   * The SFT model's weights checkpointed as if a PPO run against {@code reward} had written them: a
   * policy row's model whose checkpoint states how it was trained.
   */
  private static Path asPpoRun(Path out, String reward) throws IOException {
    var saved = Checkpoint.read(sft, "sft", TrainState.class);
    var extra = JsonNodeFactory.instance.objectNode();
    extra.set("identity", Json.MAPPER.valueToTree(new RunIdentity(1, 8, 1, reward, 1.0)));
    var state = new TrainState("ppo", 1, 1, new SplitMix64(1).state(), 1, extra);
    Checkpoint.write(out, saved.modelConfig(), saved.weights(), List.of(), state);
    return out;
  }

  @Test
  void theGoldRowTakesOnlyAPolicyTrainedAgainstTheOracle() throws Exception {
    var againstModel = asPpoRun(dir.resolve("ppo-rm"), "model");
    for (var notGold : List.of(sft, againstModel)) {
      var run =
          run(
              "eval",
              "--sft",
              sft.toString(),
              "--ppo-gold",
              notGold.toString(),
              "--out",
              dir.resolve("eval-not-gold").toString());
      assertThat(run.exitCode()).as(run.err()).isEqualTo(2);
      assertThat(run.err()).doesNotContain("\tat ");
      assertThat(dir.resolve("eval-not-gold"))
          .as("refused before anything is written")
          .doesNotExist();
    }
    var notWritten = dir.resolve("eval-not-gold").toString();
    var sftRun =
        run("eval", "--sft", sft.toString(), "--ppo-gold", sft.toString(), "--out", notWritten);
    assertThat(sftRun.err().strip())
        .isEqualTo(
            "rlhf eval: --ppo-gold "
                + sft
                + " holds a sft checkpoint: give a directory written by rlhf ppo");
    var rmRun =
        run(
            "eval",
            "--sft",
            sft.toString(),
            "--ppo-gold",
            againstModel.toString(),
            "--out",
            notWritten);
    assertThat(rmRun.err().strip())
        .isEqualTo(
            "rlhf eval: --ppo-gold "
                + againstModel
                + " was trained against --reward model: the gold row is a run of rlhf ppo or rlhf"
                + " learner with --reward oracle; give this one as --ppo");
  }

  @Test
  void evalEstimatesTheWinOverManySamplesWhenSftAndPpoAreBothThere() throws Exception {
    var out = dir.resolve("eval-win");
    // any policy checkpoint can stand in for PPO's; the SFT model against itself, the gold row's
    // with a checkpoint that says it was trained against the oracle
    var run =
        run(
            "eval",
            "--models",
            "sft,ppo",
            "--sft",
            sft.toString(),
            "--ppo",
            sft.toString(),
            "--ppo-gold",
            asPpoRun(dir.resolve("gold-stand-in"), "oracle").toString(),
            "--rm",
            rm.toString(),
            "--out",
            out.toString(),
            "--limit",
            "16",
            "--prompts-per-batch",
            "8",
            "--win-samples",
            "3");
    assertThat(run.exitCode()).as(run.err()).isZero();
    // the progress lines name each row as the table does, not by its directory
    assertThat(run.out() + run.err())
        .contains("eval: 3 more samples per prompt from PPO, scored")
        .contains("eval: 3 more samples per prompt from PPO (gold reward), scored");
    // both rows sample prompt i from the same random numbers: the same model gives the same
    // responses in both, so the column is exactly 0.5 (independent draws would make it wander)
    var lines = Files.readAllLines(out.resolve("eval.jsonl"));
    assertThat(lines).hasSize(3 * 16); // sft, ppo and the gold-reward row --ppo-gold adds
    assertThat(JSON.readTree(lines.get(32)).get("model").asText()).isEqualTo("ppo-gold");
    for (int i = 0; i < 16; i++) {
      var sftLine = JSON.readTree(lines.get(i));
      var ppoLine = JSON.readTree(lines.get(16 + i));
      assertThat(ppoLine.get("model").asText()).isEqualTo("ppo");
      assertThat(ppoLine.get("prompt")).isEqualTo(sftLine.get("prompt"));
      assertThat(ppoLine.get("response")).isEqualTo(sftLine.get("response"));
    }
    var ppoRow =
        Files.readAllLines(out.resolve("table.md")).stream()
            .filter(l -> l.startsWith("| PPO |"))
            .findFirst();
    assertThat(ppoRow)
        .hasValueSatisfying(row -> assertThat(row.split("\\|")[6].trim()).isEqualTo("0.500"));
    var win = JSON.readTree(out.resolve("win.json").toFile());
    assertThat(win.get("samples_per_prompt").asInt()).isEqualTo(3);
    double estimate = win.get("win_vs_sft").asDouble();
    assertThat(estimate).isBetween(0.0, 1.0);
    assertThat(win.get("standard_error").asDouble()).isBetween(0.0, 0.5);
    // 16 prompts, two per family: every family has its own mean, and they average to the whole
    var families = win.get("by_family");
    assertThat(families.size()).isEqualTo(8);
    double sum = 0;
    for (var family : families) sum += family.asDouble();
    assertThat(sum / 8).isCloseTo(estimate, within(1e-9));
    // the table's SFT draw read against the same SFT samples: how lucky the column's reference is
    double rowLuck = win.get("sft_row_vs_sft_samples").asDouble();
    assertThat(rowLuck).isBetween(0.0, 1.0);
    assertThat(win.get("sft_row_standard_error").asDouble()).isBetween(0.0, 0.5);
    var luckLine =
        String.format(
            java.util.Locale.ROOT, "The SFT row's one sample per prompt wins %.3f", rowLuck);
    assertThat(Files.readString(out.resolve("table.md")))
        .contains("PPO win vs SFT over 3 x 3 samples per prompt")
        .contains(luckLine);
    assertThat(run.out())
        .contains("PPO win vs SFT over 3 x 3")
        .contains("  by family: ")
        .contains(luckLine);
    // the share columns over the same 3 samples per prompt of each model, 48 responses each
    for (var model : List.of("sft_shares", "ppo_shares")) {
      var shares = win.get(model);
      // shares of 48 responses move in 48ths; truthful, of two color prompts' six, in sixths
      for (var column : List.of("follows", "correct", "non_toxic", "truthful")) {
        double count = shares.get(column).asDouble() * (column.equals("truthful") ? 6 : 48);
        assertThat(count).as(model + " " + column).isCloseTo(Math.rint(count), within(1e-9));
      }
    }
    assertThat(run.out()).contains("Over the same 3 samples per prompt");
    // truthful object by object: weighted by the prompts asking, the shares give back the
    // truthful share above; weighted equally, their plain mean
    for (var model : List.of("sft", "ppo")) {
      var byObject = win.get(model + "_truthful_by_object");
      double weighted = 0, plain = 0;
      int prompts = 0;
      for (var share : byObject) {
        weighted += share.get("prompts").asInt() * share.get("truthful").asDouble();
        plain += share.get("truthful").asDouble();
        prompts += share.get("prompts").asInt();
      }
      assertThat(prompts).as(model).isEqualTo(2); // two color prompts of 16
      assertThat(weighted / prompts)
          .as(model)
          .isCloseTo(win.get(model + "_shares").get("truthful").asDouble(), within(1e-9));
      assertThat(win.get(model + "_truthful_equal_weight").asDouble())
          .as(model)
          .isCloseTo(plain / byObject.size(), within(1e-9));
      assertThat(win.get(model + "_truthful_equal_weight_standard_error").asDouble())
          .isBetween(0.0, 0.5);
    }
    assertThat(run.out())
        .contains("  truthful by evaluation object (prompts asking), SFT/PPO: ")
        .contains("each object weighted equally: SFT ");
    assertThat(win.get("gold_win_vs_sft").asDouble()).isBetween(0.0, 1.0);
    assertThat(run.out())
        .contains("| PPO (gold reward) |")
        .contains("PPO (gold reward) win vs SFT over 3 x 3");
    // the best of N picked by the oracle has, prompt by prompt, an oracle score at least that of
    // the reward model's pick among the same candidates: it wins at least as often against the
    // same SFT samples, overall and in every family
    var headroom = JSON.readTree(out.resolve("headroom.json").toFile());
    assertThat(headroom.get("samples_per_prompt").asInt()).isEqualTo(3);
    assertThat(headroom.get("best_of_n_by_oracle").asDouble())
        .isGreaterThanOrEqualTo(headroom.get("best_of_n_by_rm").asDouble());
    var oracleByFamily = headroom.get("best_of_n_by_oracle_by_family");
    var rmByFamily = headroom.get("best_of_n_by_rm_by_family");
    assertThat(oracleByFamily.size()).isEqualTo(8);
    oracleByFamily
        .fieldNames()
        .forEachRemaining(
            family ->
                assertThat(oracleByFamily.get(family).asDouble())
                    .as(family)
                    .isGreaterThanOrEqualTo(rmByFamily.get(family).asDouble()));
    assertThat(run.out()).contains("  by family, oracle / reward model: ");
    assertThat(run.out())
        .contains("Headroom: SFT's best of 3 samples per prompt wins")
        .contains("picked by the reward model; PPO won")
        .contains("Mean response length in tokens: SFT ");
  }
}
