package io.streamrlhf.infra.cli;

import io.streamrlhf.actors.gateway.GatewaySettings;
import io.streamrlhf.infra.stream.LiveLoop;
import io.streamrlhf.learner.config.Presets;
import io.streamrlhf.learner.stream.StreamStats;
import io.streamrlhf.model.checkpoint.Checkpoint;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code rlhf demo}: the whole InstructGPT pipeline in one command, each stage run exactly as its
 * own command would run it (same flags, same output directories), so the demo is a recipe a user
 * can replay stage by stage: pretrain → sft → reward → ppo → eval.
 */
@Command(
    name = "demo",
    mixinStandardHelpOptions = true,
    showDefaultValues = true,
    description = {
      "Run the whole pipeline: pretrain -> SFT -> reward model -> PPO -> the evaluation table.",
      "PPO runs through an embedded Kafka broker with two rollout actors; the policy lag (p50, p99,"
          + " max) and rollouts per second are printed beside the table.",
      "Each stage writes its own directory under --workdir; pretrain, SFT, reward and PPO resume from"
          + " their last checkpoint with the preset's settings (a finished one has nothing left to"
          + " do; one of another preset's model is refused), so a demo run again continues where it"
          + " stopped.",
      "Preset tiny (default) takes 7-16 minutes on an idle 2-core machine (AMD EPYC, Intel Xeon), more"
          + " under load; full is the documented reproduction (the small model and longer"
          + " schedules, at most about 90 minutes), and adds the gold-reward PPO row: PPO trained"
          + " against the oracle itself (ppo --reward oracle), to tell the RL machinery from the"
          + " reward model. --live replaces the reward, PPO and gold-reward stages with its own"
          + " run."
    })
public final class DemoCommand implements Callable<Integer> {

  @Option(
      names = "--workdir",
      defaultValue = "runs/demo",
      paramLabel = "DIR",
      description = "Where every stage's directory goes (base, sft, rm, ppo, eval).")
  Path workdir;

  @Option(
      names = "--preset",
      defaultValue = "tiny",
      paramLabel = "NAME",
      description = "tiny (the demo) or full (the small model, longer schedules).")
  String preset;

  @Option(
      names = "--gold",
      description =
          "Also train PPO against the oracle (the gold reward) and add its row"
              + " to the table; the full preset always does, but for --live.")
  boolean gold;

  @Option(
      names = "--live",
      description =
          "Live human feedback instead of the offline reward stage: after SFT, PPO runs with the"
              + " feedback gateway (its labeling page's address is printed, and the page's bearer"
              + " token unless $"
              + GatewayToken.ENV
              + " gives one: rank answers there beside the simulated labelers), and a reward"
              + " trainer that starts cold from SFT and learns only from the rankings as they"
              + " arrive; actors score with its newest version.")
  boolean live;

  @Option(
      names = "--port",
      defaultValue = "8080",
      paramLabel = "N",
      description = "With --live: the labeling page's HTTP port (0: any free one).")
  int port;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  /** Stages whose commands take --resume; eval is kept whole once it has written its table. */
  private static final List<String> RESUMABLE =
      List.of("pretrain", "sft", "reward", "ppo", "ppo-gold");

  /** One stage: the command line it runs, and the directory that holds its result. */
  private record Stage(String name, Path dir, List<String> args) {}

  @Override
  public Integer call() throws Exception {
    if (!Presets.NAMES.contains(preset)) {
      throw new UserError(
          "unknown --preset '" + preset + "'; use " + String.join(" or ", Presets.NAMES));
    }
    boolean full = preset.equals("full");
    StageOptions.requireNotAFile("--workdir", workdir);
    // the live PPO stage's gateway listens on --port only after pretraining and SFT: check it now
    if (live) ListenPort.require(GatewaySettings.DEFAULT_HOST, port);
    if (live)
      GivenFlags.refuse(
          spec,
          "--live replaces the reward and PPO stages, the gold-reward run among them",
          "--gold");
    if (!live && spec.commandLine().getParseResult().hasMatchedOption("--port"))
      throw new UserError(
          "--port is the labeling page's, which only --live serves: add --live or drop --port");
    StageOptions.requireWritable("--workdir", workdir);
    var base = workdir.resolve("base");
    var sft = workdir.resolve("sft");
    var rm = workdir.resolve("rm");
    var ppo = workdir.resolve("ppo");
    var ppoGold = workdir.resolve("ppo-gold");
    var eval = workdir.resolve("eval");
    boolean withGold = gold || full;
    var evalArgs =
        new ArrayList<>(
            List.of(
                "eval",
                "--base",
                base.toString(),
                "--sft",
                sft.toString(),
                "--ppo",
                ppo.toString(),
                "--rm",
                rm.toString(),
                "--out",
                eval.toString()));
    if (withGold) evalArgs.addAll(List.of("--ppo-gold", ppoGold.toString()));

    var stages = new ArrayList<Stage>();
    stages.add(
        new Stage("pretrain", base, with(List.of("pretrain", "--out", base.toString()), preset)));
    stages.add(
        new Stage(
            "sft",
            sft,
            with(List.of("sft", "--base", base.toString(), "--out", sft.toString()), preset)));
    stages.add(
        new Stage(
            "reward",
            rm,
            with(List.of("reward", "--sft", sft.toString(), "--out", rm.toString()), preset)));
    stages.add(
        new Stage(
            "ppo",
            ppo,
            with(
                List.of(
                    "ppo", "--sft", sft.toString(), "--rm", rm.toString(), "--out", ppo.toString()),
                preset)));
    if (withGold) {
      stages.add(
          new Stage(
              "ppo-gold",
              ppoGold,
              with(
                  List.of(
                      "ppo",
                      "--sft",
                      sft.toString(),
                      "--reward",
                      "oracle",
                      "--out",
                      ppoGold.toString()),
                  preset)));
    }
    stages.add(new Stage("eval", eval, evalArgs));
    if (live) {
      var rmLive = workdir.resolve("rm-live");
      var ppoLive = workdir.resolve("ppo-live");
      var evalLive = workdir.resolve("eval-live");
      // its reward trainer starts only once: a live run stopped before its end cannot continue
      boolean finished;
      try {
        finished = LiveLoop.finished(ppoLive);
      } catch (java.io.IOException e) {
        throw new UserError(e.getMessage(), e);
      }
      if (!finished && (Checkpoint.exists(ppoLive) || Checkpoint.exists(rmLive))) {
        throw new UserError(
            "the live run in "
                + ppoLive
                + " was stopped before it finished, and a live run cannot be continued: delete "
                + ppoLive
                + " and "
                + rmLive
                + " to run it again");
      }
      stages.subList(2, stages.size()).clear(); // pretrain and SFT stay
      stages.add(
          new Stage(
              "ppo-live",
              ppoLive,
              with(
                  List.of(
                      "ppo",
                      "--sft",
                      sft.toString(),
                      "--reward",
                      "live",
                      "--rm-out",
                      rmLive.toString(),
                      "--out",
                      ppoLive.toString(),
                      "--port",
                      Integer.toString(port)),
                  preset)));
      stages.add(
          new Stage(
              "eval",
              evalLive,
              List.of(
                  "eval",
                  "--base",
                  base.toString(),
                  "--sft",
                  sft.toString(),
                  "--ppo",
                  ppoLive.toString(),
                  "--rm",
                  rmLive.toString(),
                  "--out",
                  evalLive.toString())));
      eval = evalLive;
      ppo = ppoLive;
    }

    var out = spec.commandLine().getOut();
    var timings = new ArrayList<String>();
    long demoStart = System.nanoTime();
    try (var goOn = StopNotice.goOnBy("the same demo command run again")) {
      for (var stage : stages) {
        var args = new ArrayList<>(stage.args());
        if (Files.exists(stage.dir().resolve("latest.json"))) {
          if (!RESUMABLE.contains(stage.name())) {
            out.printf(
                "%n=== demo: %s already has a model in %s; kept (delete it to train again)%n",
                stage.name(), stage.dir());
            continue;
          }
          args.add("--resume"); // a finished stage resumes with nothing left to do
        }
        out.printf("%n=== demo: %s (%s)%n", stage.name(), String.join(" ", args));
        out.flush();
        long t0 = System.nanoTime();
        int code = Rlhf.commandLine().execute(args.toArray(String[]::new));
        double seconds = (System.nanoTime() - t0) / 1e9;
        timings.add(String.format("%-9s %7.1f s", stage.name(), seconds));
        if (code != 0) {
          out.printf(
              "demo: stage %s failed (exit %d); its directory is %s%n",
              stage.name(), code, stage.dir());
          if (code == UserErrors.USAGE && args.contains("--resume"))
            // the stage's advice speaks of --resume and --out, which the demo chose
            out.printf(
                "demo: --workdir %s holds an earlier demo's %s: run the demo as that one ran (its"
                    + " --preset), or give another --workdir%n",
                workdir, stage.name());
          return code;
        }
      }
    }
    out.printf("%n=== demo: done in %.1f minutes%n", (System.nanoTime() - demoStart) / 60e9);
    timings.forEach(out::println);
    out.println("table: " + eval.resolve("table.md"));
    if (Files.exists(ppo.resolve(StreamStats.FILE))) {
      out.println("ppo through Kafka: " + StreamStats.Summary.read(ppo).line());
    }
    if (Files.exists(ppo.resolve(LiveLoop.FILE))) {
      out.println(
          "live feedback: " + Files.readString(ppo.resolve(LiveLoop.FILE)).replaceAll("\\s+", " "));
    }
    return 0;
  }

  /** The stage's arguments with the demo's --preset, which every training stage takes. */
  private static List<String> with(List<String> args, String preset) {
    var all = new ArrayList<>(args);
    all.add("--preset");
    all.add(preset);
    return all;
  }
}
