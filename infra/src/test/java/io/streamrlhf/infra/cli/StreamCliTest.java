package io.streamrlhf.infra.cli;

import static io.streamrlhf.infra.cli.CliRun.run;
import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.streamrlhf.infra.chaos.TinyModels;
import io.streamrlhf.infra.stream.LiveLoop;
import io.streamrlhf.learner.config.ConfigLoader;
import io.streamrlhf.learner.config.OnlineRewardConfig;
import io.streamrlhf.learner.config.PpoConfig;
import io.streamrlhf.learner.ppo.PpoLoop;
import io.streamrlhf.learner.ppo.RunIdentity;
import io.streamrlhf.learner.train.TrainState;
import io.streamrlhf.model.Gpt;
import io.streamrlhf.model.GptConfig;
import io.streamrlhf.model.checkpoint.Checkpoint;
import io.streamrlhf.model.checkpoint.Json;
import io.streamrlhf.model.checkpoint.OutputLock;
import io.streamrlhf.tasks.SplitMix64;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StreamCliTest {

  @Test
  void actorLearnerAndPpoHelpNameTheStreamingFlags() {
    var actor = run("actor", "--help");
    assertThat(actor.exitCode()).isZero();
    assertThat(actor.out())
        .contains("--bootstrap=HOST:PORT", "--sft=DIR", "--rm=DIR", "rlhf.prompts");
    var learner = run("learner", "--help");
    assertThat(learner.exitCode()).isZero();
    assertThat(learner.out())
        .contains("--bootstrap=HOST:PORT", "--sync", "exactly once", "stream-stats.json");
    var ppo = run("ppo", "--help");
    assertThat(ppo.out()).contains("--inproc", "--sync", "--actors=N", "--bootstrap=HOST:PORT");
  }

  @Test
  void badStreamingFlagsAreOneLineUserErrors(@TempDir Path dir) {
    var actors =
        run(
            "ppo",
            "--sft",
            dir.toString(),
            "--rm",
            dir.toString(),
            "--out",
            dir.resolve("ppo").toString(),
            "--actors",
            "0");
    assertThat(actors.exitCode()).isEqualTo(2);
    assertThat(actors.err().strip()).isEqualTo("rlhf ppo: --actors must be at least 1, got 0");
    var both =
        run(
            "ppo",
            "--sft",
            dir.toString(),
            "--rm",
            dir.toString(),
            "--out",
            dir.resolve("ppo").toString(),
            "--inproc",
            "--bootstrap",
            "x:1");
    assertThat(both.exitCode()).isEqualTo(2);
    assertThat(both.err()).contains("--inproc runs without Kafka").doesNotContain("\tat ");
    var lag =
        run(
            "learner",
            "--bootstrap",
            "127.0.0.1:1",
            "--sft",
            dir.toString(),
            "--rm",
            dir.toString(),
            "--out",
            dir.resolve("learner").toString(),
            "--set",
            "max_lag=-1");
    assertThat(lag.exitCode()).isEqualTo(2);
    assertThat(lag.err()).contains("max_lag").doesNotContain("\tat ");
  }

  @Test
  void ppoAndLearnerTakeTheSameLearnerOptions() {
    for (var command : List.of("ppo", "learner")) {
      var help = run(command, "--help");
      assertThat(help.exitCode()).isZero();
      assertThat(help.out())
          .as(command)
          .contains(
              "--out=DIR",
              "--resume",
              "--sync",
              "--sft=DIR",
              "--rm=DIR",
              "--reward=SOURCE",
              "--config=FILE",
              "--set=KEY=VALUE",
              "--bootstrap=HOST:PORT");
      assertThat(help.out().replaceAll("\\s+", " "))
          .as(command + ": the rule, described")
          .contains(
              "a run starts only in an --out without a checkpoint or another program's config.json; --resume continues the checkpoint in --out");
    }
  }

  @Test
  void ppoAndLearnerResumeOnlyWithResumeAndOnlyWhatTheyWrote(@TempDir Path dir) throws Exception {
    var sft = checkpoint(dir.resolve("sft"), "sft", null);
    var rm = checkpoint(dir.resolve("rm"), "reward", null);
    var inMemory = checkpoint(dir.resolve("ppo-inproc"), "ppo", null);
    var stream = JsonNodeFactory.instance.objectNode();
    stream.putObject(PpoLoop.SOURCE_STATE);
    var throughKafka = checkpoint(dir.resolve("ppo-kafka"), "ppo", stream);
    for (var command : List.of("ppo", "learner")) {
      var again =
          run(
              command,
              "--bootstrap",
              "127.0.0.1:1",
              "--sft",
              sft.toString(),
              "--rm",
              rm.toString(),
              "--out",
              throughKafka.toString());
      assertThat(again.exitCode()).as(command).isEqualTo(2);
      assertThat(again.err().strip())
          .isEqualTo(
              "rlhf "
                  + command
                  + ": "
                  + throughKafka
                  + " already holds a ppo"
                  + " checkpoint: pass --resume to continue it, or choose another --out");
      var nothing =
          run(
              command,
              "--bootstrap",
              "127.0.0.1:1",
              "--sft",
              sft.toString(),
              "--rm",
              rm.toString(),
              "--out",
              dir.resolve("empty").toString(),
              "--resume");
      assertThat(nothing.exitCode()).as(command).isEqualTo(2);
      assertThat(nothing.err())
          .contains("--resume", "holds no checkpoint to continue")
          .doesNotContain("\tat ");
      var other =
          run(
              command,
              "--bootstrap",
              "127.0.0.1:1",
              "--sft",
              sft.toString(),
              "--rm",
              rm.toString(),
              "--out",
              inMemory.toString(),
              "--resume");
      assertThat(other.exitCode()).as(command).isEqualTo(2);
      assertThat(other.err())
          .contains("holds a checkpoint of PPO in memory")
          .doesNotContain("\tat ");
    }
    var inproc =
        run(
            "ppo",
            "--inproc",
            "--sft",
            sft.toString(),
            "--rm",
            rm.toString(),
            "--out",
            throughKafka.toString(),
            "--resume");
    assertThat(inproc.exitCode()).isEqualTo(2);
    assertThat(inproc.err())
        .contains("holds a checkpoint of PPO through Kafka")
        .doesNotContain("\tat ");
  }

  @Test
  void aResumeThatChangesTheRunsIdentityIsRefusedNamingEachChange(@TempDir Path dir)
      throws Exception {
    var sft = checkpoint(dir.resolve("sft"), "sft", null);
    var rm = checkpoint(dir.resolve("rm"), "reward", null);
    var run = PpoConfig.defaults();
    var extra = JsonNodeFactory.instance.objectNode();
    extra.putObject(PpoLoop.SOURCE_STATE);
    extra.set("identity", Json.MAPPER.valueToTree(RunIdentity.of(run)));
    var out = checkpoint(dir.resolve("ppo"), "ppo", extra);
    var savedConfig = Files.readString(out.resolve("config.json"));
    for (var command : List.of("ppo", "learner")) {
      var changed =
          run(
              command,
              "--bootstrap",
              "127.0.0.1:1",
              "--sft",
              sft.toString(),
              "--rm",
              rm.toString(),
              "--out",
              out.toString(),
              "--resume",
              "--set",
              "seed=" + (run.seed() + 1),
              "--set",
              "responses_per_prompt=" + (run.responsesPerPrompt() + 1),
              "--set",
              "max_lag=" + (run.maxLag() + 1),
              "--set",
              "updates=" + (run.updates() + 10),
              "--set",
              "sampling_temperature=" + run.samplingTemperature() / 2);
      assertThat(changed.exitCode()).as(command).isEqualTo(2);
      assertThat(changed.err().strip())
          .isEqualTo(
              "rlhf "
                  + command
                  + ": --resume: cannot resume the run in "
                  + out
                  + " with other settings that define its data (seed "
                  + run.seed()
                  + " -> "
                  + (run.seed() + 1)
                  + ", responses_per_prompt "
                  + run.responsesPerPrompt()
                  + " -> "
                  + (run.responsesPerPrompt() + 1)
                  + ", sampling_temperature "
                  + run.samplingTemperature()
                  + " -> "
                  + run.samplingTemperature() / 2
                  + "): resume with the run's own values, or start a new run in another --out");
      assertThat(out.resolve("config.json")).as("refused before writing").hasContent(savedConfig);
    }
  }

  @Test
  void anOlderCheckpointsIdentityWithoutATemperatureIsComparedOnTheRest(@TempDir Path dir)
      throws Exception {
    var sft = checkpoint(dir.resolve("sft"), "sft", null);
    var rm = checkpoint(dir.resolve("rm"), "reward", null);
    var run = PpoConfig.defaults();
    var extra = JsonNodeFactory.instance.objectNode();
    extra.putObject(PpoLoop.SOURCE_STATE);
    // saved before the temperature was part of a run's identity
    var identity = (ObjectNode) Json.MAPPER.valueToTree(RunIdentity.of(run));
    identity.remove("sampling_temperature");
    extra.set("identity", identity);
    var out = checkpoint(dir.resolve("ppo"), "ppo", extra);
    var changed =
        run(
            "ppo",
            "--sft",
            sft.toString(),
            "--rm",
            rm.toString(),
            "--out",
            out.toString(),
            "--resume",
            "--set",
            "seed=" + (run.seed() + 1),
            "--set",
            "sampling_temperature=" + run.samplingTemperature() / 2);
    assertThat(changed.exitCode()).as(changed.err()).isEqualTo(2);
    assertThat(changed.err().strip())
        .isEqualTo(
            "rlhf ppo: --resume: cannot resume the run in "
                + out
                + " with other settings that define its data (seed "
                + run.seed()
                + " -> "
                + (run.seed() + 1)
                + "): resume with the run's own values, or start a new run in another --out");
  }

  @Test
  void aResumeWithNoIntactCheckpointLeftIsOneLine(@TempDir Path dir) throws Exception {
    var sft = checkpoint(dir.resolve("sft"), "sft", null);
    var rm = checkpoint(dir.resolve("rm"), "reward", null);
    var out = dir.resolve("ppo");
    var shape = new GptConfig(260, 16, 8, 1, 2);
    var extra = JsonNodeFactory.instance.objectNode();
    extra.putObject(PpoLoop.SOURCE_STATE);
    try (var model = Gpt.create(shape, 1)) {
      for (int step = 1; step <= 2; step++) {
        Checkpoint.write(
            out,
            shape,
            model.snapshot(step),
            List.of(model.snapshot(step)),
            new TrainState("ppo", step, 0, new SplitMix64(1).state(), step, extra));
        // each rots on disk: the newest and its fallback
        var weights = out.resolve(Checkpoint.latest(out).directory()).resolve(Checkpoint.WEIGHTS);
        Files.write(weights, new byte[] {1, 2, 3});
      }
    }
    var run =
        run(
            "learner",
            "--bootstrap",
            "127.0.0.1:1",
            "--sft",
            sft.toString(),
            "--rm",
            rm.toString(),
            "--out",
            out.toString(),
            "--resume");
    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err().strip())
        .startsWith("rlhf learner: --resume: " + out + ": the checkpoint in force, step-000002,")
        .contains("weights.bin holds 3 bytes", "no intact previous checkpoint")
        .doesNotContain("\n");
  }

  @Test
  void rewardTrainerRefusesWhatItCannotUseBeforeItConnects(@TempDir Path dir) throws Exception {
    var help = run("reward-trainer", "--help");
    assertThat(help.exitCode()).isZero();
    assertThat(help.out())
        .contains(
            "--bootstrap=HOST:PORT",
            "--sft=DIR",
            "--rm=DIR",
            "--max-comparisons=N",
            "--until-version=V",
            "--resume",
            "accuracy.csv");
    assertThat(help.out().replaceAll("\\s+", " "))
        .contains("it applies every comparison exactly once");
    var sft = checkpoint(dir.resolve("sft"), "sft", null);
    var trainer = checkpoint(dir.resolve("trainer"), "reward-trainer", null);
    var ppo = checkpoint(dir.resolve("ppo"), "ppo", null);
    var notAReward = trainer(sft, "--rm", sft.toString(), "--out", dir.resolve("out").toString());
    assertThat(notAReward.exitCode()).isEqualTo(2);
    assertThat(notAReward.err().strip())
        .isEqualTo(
            "rlhf reward-trainer: --rm "
                + sft
                + " holds a sft checkpoint: give a directory written by rlhf reward or rlhf"
                + " reward-trainer");
    var again = trainer(sft, "--out", trainer.toString());
    assertThat(again.exitCode()).isEqualTo(2);
    assertThat(again.err()).contains("already holds a reward-trainer checkpoint: pass --resume");
    var other = trainer(sft, "--out", ppo.toString(), "--resume");
    assertThat(other.exitCode()).isEqualTo(2);
    assertThat(other.err()).contains("holds a ppo checkpoint, not a reward-trainer one");
    ConfigLoader.save(OnlineRewardConfig.defaults(), trainer);
    var moved =
        trainer(sft, "--out", trainer.toString(), "--resume", "--set", "held_out_share=0.2");
    assertThat(moved.exitCode()).isEqualTo(2);
    assertThat(moved.err())
        .as("a new share would move ranked requests it trained on into the held-out side")
        .contains("other settings that define its model or data (held_out_share 0.1 -> 0.2)");
    var none = trainer(sft, "--out", dir.resolve("fresh").toString(), "--max-comparisons", "0");
    assertThat(none.exitCode()).isEqualTo(2);
    assertThat(none.err().strip())
        .isEqualTo("rlhf reward-trainer: --max-comparisons must be >= 1, got 0");
  }

  /** {@code rlhf reward-trainer} from {@code sft} with {@code more}, against no broker. */
  private static CliRun trainer(Path sft, String... more) {
    var args =
        new ArrayList<>(
            List.of("reward-trainer", "--bootstrap", "127.0.0.1:1", "--sft", sft.toString()));
    args.addAll(List.of(more));
    return run(args.toArray(String[]::new));
  }

  @Test
  void flagsOfAnotherModeAreRefusedNotIgnored(@TempDir Path dir) throws Exception {
    var sft = checkpoint(dir.resolve("sft"), "sft", null);
    var rm = checkpoint(dir.resolve("rm"), "reward", null);
    var out = dir.resolve("ppo");
    var common = List.of("ppo", "--sft", sft.toString(), "--out", out.toString());
    record Case(List<String> flags, String error) {}
    var cases =
        List.of(
            new Case(
                List.of("--rm", rm.toString(), "--inproc", "--actors", "3", "--swap", "in-flight"),
                "--inproc runs no actors: drop --actors and --swap"),
            new Case(
                List.of("--rm", rm.toString(), "--inproc", "--sync"),
                "--inproc samples every batch on-policy already: drop --sync"),
            new Case(
                List.of("--rm", rm.toString(), "--port", "9000"),
                "the live loop's flags do nothing with --reward model: drop --port"),
            new Case(
                List.of("--reward", "oracle", "--rm-out", dir.resolve("rm-live").toString()),
                "the live loop's flags do nothing with --reward oracle: drop --rm-out"),
            new Case(
                List.of("--reward", "oracle", "--token", "t"),
                "the live loop's flags do nothing with --reward oracle: drop --token"),
            new Case(
                List.of("--rm", rm.toString(), "--reward-set", "catch_up_factor=8"),
                "the live loop's flags do nothing with --reward model: drop --reward-set"),
            new Case(
                List.of("--reward", "oracle", "--rm", rm.toString()),
                "--rm is not read with --reward oracle: the oracle scores every rollout; drop --rm"),
            new Case(
                List.of("--rm", rm.toString(), "--sync", "--set", "max_lag=3"),
                "--set max_lag=3 asks for another max_lag than --sync, which sets max_lag=0: give one of"
                    + " them"),
            new Case(
                List.of("--rm", rm.toString(), "--sync", "--set", "max-lag=3"),
                "--set max-lag=3 asks for another max_lag than --sync, which sets max_lag=0: give one of"
                    + " them"),
            new Case(
                List.of("--reward", "oracle", "--set", "reward=model"),
                "--set reward=model asks for another reward than --reward, which sets reward=oracle:"
                    + " give one of them"),
            new Case(
                List.of("--rm", rm.toString(), "--set", "eval_prompts=1000"),
                "eval_prompts must be between 1 and the 400 held-out prompts, got 1000"),
            new Case(
                List.of("--reward", "live", "--bootstrap", "127.0.0.1:1", "--label-share", "0.2"),
                "with --bootstrap, the live loop's gateway and reward trainer run as their own"
                    + " commands (rlhf gateway, rlhf reward-trainer): drop --label-share"));
    for (var c : cases) {
      var args = new ArrayList<>(common);
      args.addAll(c.flags());
      var run = run(args.toArray(String[]::new));
      assertThat(run.exitCode()).as(String.join(" ", args)).isEqualTo(2);
      assertThat(run.err().strip()).isEqualTo("rlhf ppo: " + c.error());
      assertThat(out).as("nothing written").doesNotExist();
    }
    var demo = run("demo", "--workdir", dir.resolve("demo").toString(), "--port", "9000");
    assertThat(demo.exitCode()).isEqualTo(2);
    assertThat(demo.err().strip())
        .isEqualTo(
            "rlhf demo: --port is the labeling page's, which only --live serves: add --live or"
                + " drop --port");
    assertThat(dir.resolve("demo")).doesNotExist();
  }

  @Test
  void aLiveRunsActorsSwapAndTakeThePolicyFromTheStoreAsTheFlagsSay(@TempDir Path dir)
      throws Exception {
    TinyModels.write(dir); // dir/sft and dir/rm: the reward trainer starts from a reward model
    var store = dir.resolve("store");
    var args =
        new ArrayList<>(
            List.of(
                "ppo",
                "--sft",
                dir.resolve("sft").toString(),
                "--rm",
                dir.resolve("rm").toString(),
                "--reward",
                "live",
                "--rm-out",
                dir.resolve("rm-live").toString(),
                "--out",
                dir.resolve("ppo").toString(),
                "--port",
                "0",
                "--actors",
                "1",
                "--swap",
                "in-flight",
                "--weights-store",
                store.toString(),
                "--reward-set",
                "statistics_samples=8"));
    for (var setting :
        List.of(
            "updates=2",
            "prompts_per_batch=" + TinyModels.PROMPTS_PER_BATCH,
            "responses_per_prompt=" + TinyModels.RESPONSES_PER_PROMPT,
            "tokens_per_minibatch=512",
            "value_warmup_updates=0",
            "eval_prompts=1",
            "eval_every_updates=1000")) {
      args.addAll(List.of("--set", setting));
    }

    var run = run(args.toArray(String[]::new));

    assertThat(run.exitCode()).as(run.err()).isZero();
    assertThat(run.out())
        .contains("actor-0: rollout actor started (group ")
        .contains("policy swaps in-flight, asking 50% of prompts to be ranked")
        .containsPattern(
            "learner: published policy v2 \\(\\d+ bytes in the weight store, a pointer")
        .contains("actor-0: policy v0 applied")
        .contains("rankings taken in; ranking to an actor scoring");
    try (var objects = Files.list(store.resolve("policy"))) {
      assertThat(objects).as("versions 0 to 2, the bytes the pointers name").hasSize(3);
    }
    assertThat(LiveLoop.finished(dir.resolve("ppo"))).isTrue();
  }

  @Test
  void aLiveRunStoppedBeforeItsEndIsNotContinued(@TempDir Path dir) throws Exception {
    var sft = checkpoint(dir.resolve("sft"), "sft", null);
    var stream = JsonNodeFactory.instance.objectNode();
    stream.putObject(PpoLoop.SOURCE_STATE);
    var live = checkpoint(dir.resolve("ppo-live"), "ppo", stream); // at update 1
    var savedConfig = Files.readString(live.resolve("config.json"));
    java.util.function.Function<List<String>, CliRun> resume =
        settings -> {
          var args =
              new ArrayList<>(
                  List.of(
                      "ppo",
                      "--sft",
                      sft.toString(),
                      "--reward",
                      "live",
                      "--rm-out",
                      dir.resolve("rm-live").toString(),
                      "--out",
                      live.toString(),
                      "--resume"));
          settings.forEach(setting -> args.addAll(List.of("--set", setting)));
          return run(args.toArray(String[]::new));
        };
    var run = resume.apply(List.of("updates=50"));
    assertThat(run.exitCode()).isEqualTo(2);
    assertThat(run.err().strip())
        .isEqualTo(
            "rlhf ppo: --resume: "
                + live
                + " holds a live run stopped at update 1 of 50, and a live run cannot be continued"
                + " (its reward trainer starts only once): start a new one with another --out and"
                + " --rm-out");
    assertThat(live.resolve("config.json")).as("nothing written").hasContent(savedConfig);

    // a new live run whose --rm-out another reward trainer writes
    var busy = dir.resolve("rm-busy");
    var fresh = dir.resolve("ppo-fresh");
    java.util.function.Function<Path, CliRun> newLive =
        rmOut ->
            run(
                "ppo",
                "--sft",
                sft.toString(),
                "--reward",
                "live",
                "--rm-out",
                rmOut.toString(),
                "--out",
                fresh.toString());
    try (var other = OutputLock.acquire(busy)) {
      var refused = newLive.apply(busy);
      assertThat(refused.exitCode()).isEqualTo(2);
      assertThat(refused.err().strip())
          .isEqualTo(
              "rlhf ppo: --rm-out "
                  + busy
                  + " is in use by another reward trainer (this process holds "
                  + OutputLock.FILE
                  + "): one reward trainer per output directory; stop it, or choose another"
                  + " --rm-out");
      assertThat(fresh.resolve("config.json")).as("nothing written").doesNotExist();
    }
    // a new live run whose --rm-out lies in another run's step directory, which its pruning takes
    var inside = live.resolve("step-000001").resolve("rm");
    var nested = newLive.apply(inside);
    assertThat(nested.exitCode()).isEqualTo(2);
    assertThat(nested.err().strip())
        .isEqualTo(
            "rlhf ppo: --rm-out "
                + inside
                + " is inside the checkpoint in "
                + live.toAbsolutePath().normalize()
                + ": choose an --rm-out outside it");
    assertThat(inside).doesNotExist();
    var workdir = dir.resolve("demo");
    checkpoint(workdir.resolve("rm-live"), "reward-trainer", null);
    var demo = run("demo", "--live", "--port", "0", "--workdir", workdir.toString());
    assertThat(demo.exitCode()).isEqualTo(2);
    assertThat(demo.err().strip())
        .isEqualTo(
            "rlhf demo: the live run in "
                + workdir.resolve("ppo-live")
                + " was stopped before it finished, and a live run cannot be continued: delete "
                + workdir.resolve("ppo-live")
                + " and "
                + workdir.resolve("rm-live")
                + " to run it again");
    assertThat(workdir.resolve("base")).as("no stage ran").doesNotExist();

    // the figures a live run stopped by a signal writes mark it unfinished, even at its last update
    Json.writeAtomically(
        new LiveLoop.Figures(7, 3, 900, 1200, 2, -1, false), live.resolve(LiveLoop.FILE));
    var stopped = resume.apply(List.of("updates=1", "value_warmup_updates=0"));
    assertThat(stopped.exitCode()).isEqualTo(2);
    assertThat(stopped.err()).contains(" holds a live run stopped at update 1 of 1, ");

    // a finished one (the demo --live run again) has nothing to do
    Files.writeString(live.resolve(LiveLoop.FILE), "{}");
    var again = resume.apply(List.of("updates=1", "value_warmup_updates=0"));
    assertThat(again.exitCode()).as(again.err()).isZero();
    assertThat(again.out()).contains(live + " already holds all 1 updates: nothing to do");
    assertThat(dir.resolve("rm-live")).doesNotExist();
  }

  /**
   * A directory that reads as a checkpoint of {@code stage} (pointer and train state; no weights).
   */
  private static Path checkpoint(
      Path dir, String stage, com.fasterxml.jackson.databind.JsonNode extra) throws IOException {
    new TrainState(stage, 1, 0, new SplitMix64(1).state(), 0, extra)
        .write(dir.resolve("step-000001"));
    Json.writeAtomically(new Checkpoint.Latest(1, "step-000001"), dir.resolve(Checkpoint.LATEST));
    // as a run leaves it: the settings it began with beside its checkpoint
    if (stage.equals("ppo")) ConfigLoader.save(PpoConfig.defaults(), dir);
    return dir;
  }
}
