package io.streamrlhf.infra.cli;

import io.streamrlhf.infra.bench.AsyncRace;
import io.streamrlhf.learner.config.ConfigLoader;
import io.streamrlhf.learner.config.PpoConfig;
import io.streamrlhf.model.checkpoint.Json;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code rlhf race}: the synchronous loop against the asynchronous one on separate cores. */
@Command(
    name = "race",
    mixinStandardHelpOptions = true,
    showDefaultValues = true,
    description = {
      "Runs a short real loop twice, --sync (max_lag 0) and then asynchronously (the config's max_lag),"
          + " each with a Kafka broker started in this process, one rlhf actor pinned to --actor-cpus"
          + " and one rlhf learner pinned to --learner-cpus (child JVMs), on the gold reward (reward ="
          + " oracle), and prints one JSON object: for sync and async, wall seconds (processes started"
          + " to the learner's exit), learner_idle_fraction, actor_idle_fraction, lag_p50/lag_p99 and the"
          + " path of the learner's gold-proxy.csv; then wall_sync_over_async and time_to_reward:"
          + " each mode's wall seconds (from its first update) to the same oracle score, and"
          + " sync_over_async, their ratio (null where a run did not reach it). Set"
          + " eval_every_updates so that each run records several evaluations.",
      "The children's lines go to stderr; each mode's learner output is in --out/sync/learner and --out/async/learner."
    },
    exitCodeListHeading = "Exit codes:%n",
    exitCodeList = {
      "0:both modes ran; the JSON is on stdout",
      "1:a mode failed or took longer than --timeout (one line says which, after the children's)",
      "2:usage error (bad option or setting, no SFT checkpoint, --out not new or empty)"
    })
final class RaceCommand implements Callable<Integer> {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Mixin ConfigOptions settings;

  @Option(
      names = "--sft",
      required = true,
      paramLabel = "DIR",
      description = "SFT checkpoint directory: the initial policy and the frozen reference model.")
  Path sft;

  @Option(
      names = "--updates",
      required = true,
      paramLabel = "N",
      showDefaultValue = CommandLine.Help.Visibility.NEVER,
      description = "Updates per mode.")
  int updates;

  @Option(
      names = "--actor-cpus",
      paramLabel = "LIST",
      description = "The actor's CPUs (rlhf actor --cpus); default: not pinned.")
  String actorCpus;

  @Option(
      names = "--learner-cpus",
      paramLabel = "LIST",
      description = "The learner's CPUs (rlhf learner --cpus); default: not pinned.")
  String learnerCpus;

  @Option(
      names = "--out",
      required = true,
      paramLabel = "DIR",
      description = "A new or empty directory for both modes' runs.")
  Path out;

  @Option(
      names = "--heap",
      defaultValue = "2g",
      paramLabel = "SIZE",
      description = "Each child JVM's -Xmx.")
  String heap;

  @Option(
      names = "--timeout",
      defaultValue = "PT30M",
      paramLabel = "DURATION",
      description = "Give up on a mode that takes longer than this (ISO-8601).")
  Duration timeout;

  @Override
  public Integer call() throws Exception {
    if (updates < 1) throw new UserError("--updates must be at least 1, got " + updates);
    if (timeout.isNegative() || timeout.isZero())
      throw new UserError("--timeout must be longer than 0, got " + timeout);
    HeapSize.require("--heap", heap);
    CpuOptions.check("--actor-cpus", actorCpus);
    CpuOptions.check("--learner-cpus", learnerCpus);
    StageOptions.requireCheckpoint("--sft", sft, "sft");
    try {
      AsyncRace.requireEmpty(out);
    } catch (IllegalArgumentException e) {
      throw new UserError("--out " + e.getMessage());
    }
    var config =
        settings.load(
            ConfigLoader.with(PpoConfig.defaults(), "reward=" + PpoConfig.REWARD_ORACLE),
            null,
            List.of(new ConfigOptions.FlagSetting("--updates", "updates=" + updates)));
    if (!PpoConfig.REWARD_ORACLE.equals(config.reward()))
      throw new UserError(
          "the race runs both modes on the gold reward (reward=oracle), with no reward model:"
              + " drop reward="
              + config.reward());
    // evaluated at v0, every eval_every_updates and after the last update
    int every = config.evalEveryUpdates();
    int evaluations = 1 + updates / every + (updates % every == 0 ? 0 : 1);
    if (updates < 2)
      throw new UserError(
          "--updates 1 gives each mode two evaluations (v0 and v1), too few for time_to_reward:"
              + " give --updates 2 or more");
    if (evaluations < 3)
      throw new UserError(
          String.format(
              "with %d updates and eval_every_updates %d each mode records %d evaluations, too"
                  + " few for time_to_reward (its smoothed level is their mean): set"
                  + " eval_every_updates to %d or less",
              updates, every, evaluations, updates / 2));
    if (config.maxLag() < 1)
      throw new UserError(
          "max_lag "
              + config.maxLag()
              + " is the synchronous loop, which the race runs as its"
              + " sync mode: race an asynchronous one against it with max_lag 1 or more");
    AsyncRace.Result result;
    try {
      result =
          AsyncRace.run(
              new AsyncRace.Settings(sft, config, actorCpus, learnerCpus, out, heap, timeout),
              spec.commandLine().getErr());
    } catch (AsyncRace.Failed e) {
      // a run that failed or gave up: one line (the children's own lines are above), exit 1
      spec.commandLine().getErr().println("rlhf race: " + e.getMessage());
      spec.commandLine().getErr().flush();
      return 1;
    }
    var stdout = spec.commandLine().getOut();
    stdout.println(Json.write(result));
    stdout.flush();
    return 0;
  }
}
