package io.streamrlhf.infra.cli;

import io.streamrlhf.actors.ActorSettings;
import io.streamrlhf.actors.WeightSwap;
import io.streamrlhf.actors.gateway.GatewaySettings;
import io.streamrlhf.infra.stream.LiveLoop;
import io.streamrlhf.infra.stream.LocalLoop;
import io.streamrlhf.learner.config.ConfigLoader;
import io.streamrlhf.learner.config.OnlineRewardConfig;
import io.streamrlhf.learner.config.PpoConfig;
import io.streamrlhf.learner.ppo.PpoLoop;
import io.streamrlhf.model.checkpoint.Checkpoint;
import io.streamrlhf.schemas.WeightStore;
import io.streamrlhf.schemas.transport.KafkaAccess;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.function.UnaryOperator;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code rlhf ppo}: PPO against the reward model, actors and learner in one process: through a
 * Kafka broker by default (embedded unless {@code --bootstrap}), in memory with {@code --inproc}.
 */
@Command(
    name = "ppo",
    mixinStandardHelpOptions = true,
    showDefaultValues = true,
    description = {
      "Fine-tunes the SFT model with PPO against the reward model, or with --reward oracle against the gold"
          + " reward (InstructGPT step 3): per-token KL penalty to"
          + " the frozen SFT model plus the normalised RM score on the last token (the RM's likelihood term, when it has"
          + " one, paid token by token: a reward shaping that keeps every return; reference_shaping=0 turns it off),"
          + " GAE (gamma 1, lambda 0.95),"
          + " whitened advantages, decoupled clipped surrogate, clipped value loss against returns, KL coefficient fixed at init_kl_coef (adaptive_kl=true: the adaptive controller towards target_kl); PPO-ptx with --set ptx_coef=G (off by default).",
      "The value head learns at its own rate (value_head_learning_rate) and alone for the first"
          + " value_warmup_updates updates (the policy stays SFT meanwhile), so the first policy steps have a"
          + " baseline; set value_warmup_updates=0 for runs of only a few updates.",
      "By default through Kafka, in this process: an embedded broker (or --bootstrap), --actors rollout actors and"
          + " the streaming learner, which drops rollouts more than max_lag policy versions old (--sync: 0) and"
          + " writes stream-stats.json (policy lag p50/p99/max, rollouts/s, weights publish-to-apply ms)."
          + " An actor that fails is replaced by a fresh one (new Kafka clients, the newest weights);"
          + " one that fails again after 3 restarts within 10 minutes ends the run with its failure.",
      "--inproc is the in-memory baseline (sampler and learner share the policy). Either way the learner scores a"
          + " fixed held-out subset (eval_prompts) every eval_every_updates updates with the oracle (gold) and the"
          + " reward it trains on (proxy) and writes gold-proxy.csv (update,oracle_score,rm_score,kl,seconds;"
          + " seconds of training since the first update, evaluations included) and gold-proxy.png; not with"
          + " --reward live, whose reward model the learner does not hold.",
      "Settings (keys of the effective config printed at start, e.g. updates, prompts_per_batch,"
          + " tokens_per_minibatch, target_kl, ptx_coef, max_lag) come from --config and --set; the tiny-preset"
          + " defaults take about 5 minutes on 2 cores in memory.",
      "A checkpoint holds the policy, optimizer, KL coefficient and (in memory) the sampling and shuffling streams"
          + " and prompt position, or (through Kafka) the consumed rollout offsets: --resume continues a killed run.",
      "--reward live without --bootstrap runs the whole feedback loop here: the feedback gateway and its"
          + " labeling page (--port), simulated labelers (--label-rate), a reward trainer starting from --rm"
          + " (cold from --sft without it) and writing to --rm-out, and actors that send --label-share of their prompts to be ranked"
          + " and score with the newest reward-model version (--swap and --weights-store apply to them as"
          + " to any in-process actors); when PPO ends, the reward trainer takes in the rankings"
          + " left before it stops (SIGTERM stops it after its current step); it writes live.json (ranking-to-scoring latency; the"
          + " figures so far if stopped by a signal).",
      "--out and --resume, as for rlhf learner: a run starts only in an --out without a checkpoint or another program's config.json; --resume"
          + " continues the checkpoint in --out, written the same way (through Kafka, or --inproc), and refuses an"
          + " --out without one."
    })
final class PpoCommand implements Callable<Integer> {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;
  @Mixin LearnerOptions learner;

  @Option(
      names = "--inproc",
      description = "The in-memory loop (sampler and learner share the policy), the baseline.")
  boolean inproc;

  @Option(
      names = "--actors",
      defaultValue = "2",
      paramLabel = "N",
      description = "Rollout actors in this process (Kafka path).")
  int actors;

  @Option(
      names = "--bootstrap",
      paramLabel = "HOST:PORT",
      description = "Use this Kafka cluster instead of starting an embedded broker.")
  String bootstrap;

  @Mixin KafkaConfigOption kafkaConfig;

  @Mixin WeightStoreOption weightStore;

  @Option(
      names = "--rm-out",
      paramLabel = "DIR",
      description = "With --reward live: where the reward trainer's checkpoint goes.")
  Path rmOut;

  @Option(
      names = "--label-share",
      defaultValue = "0.5",
      paramLabel = "SHARE",
      description = "With --reward live: the share of prompts actors send to be ranked.")
  double labelShare;

  @Option(
      names = "--label-rate",
      defaultValue = "20",
      paramLabel = "PER_SECOND",
      description = "With --reward live: label requests the simulated labelers rank per second.")
  double labelRate;

  @Option(
      names = "--port",
      defaultValue = "8080",
      paramLabel = "N",
      description = "With --reward live: the labeling page's HTTP port (0: any free one).")
  int port;

  @Option(
      names = "--token",
      paramLabel = "TOKEN",
      description =
          "With --reward live: the labeling page's bearer token (default: $"
              + GatewayToken.ENV
              + ", else a random one, printed at start).")
  String token;

  @Option(
      names = "--reward-set",
      paramLabel = "KEY=VALUE",
      description =
          "With --reward live: override one setting of its reward trainer (repeatable; the keys"
              + " rlhf reward-trainer --set takes, printed at start as reward-trainer config), e.g."
              + " --reward-set catch_up_factor=8.")
  List<String> rewardSets = new ArrayList<>();

  @Option(
      names = "--swap",
      paramLabel = "WHEN",
      defaultValue = "between-batches",
      description =
          "Kafka path: when the in-process actors apply a new policy version, between-batches"
              + " (default) or in-flight (between decode steps of a batch, as rlhf actor --swap).")
  String swap;

  @Override
  public Integer call() throws Exception {
    var out = spec.commandLine().getOut();
    if (inproc && bootstrap != null)
      throw new UserError("--inproc runs without Kafka: drop --bootstrap");
    if (actors < 1) throw new UserError("--actors must be at least 1, got " + actors);
    var swapMode = WeightSwaps.parse(swap);
    if (inproc && weightStore.dir != null)
      throw new UserError("--inproc shares the policy in memory: drop --weights-store");
    if (inproc) GivenFlags.refuse(spec, "--inproc runs no actors", "--actors", "--swap");
    if (inproc) GivenFlags.refuse(spec, "--inproc samples every batch on-policy already", "--sync");
    if (bootstrap == null && kafkaConfig.file != null)
      throw new UserError(
          "--kafka-config applies to a cluster named by --bootstrap (the embedded broker is"
              + " PLAINTEXT)");
    var kafka = bootstrap == null ? null : kafkaConfig.access(bootstrap);
    var config = learner.config(!inproc, bootstrap == null && !inproc);
    if (!livesHere(config)) {
      GivenFlags.refuse(
          spec,
          PpoConfig.REWARD_LIVE.equals(config.reward())
              ? "with --bootstrap, the live loop's gateway and reward trainer run as their own"
                  + " commands (rlhf gateway, rlhf reward-trainer)"
              : "the live loop's flags do nothing with --reward " + config.reward(),
          "--rm-out",
          "--label-share",
          "--label-rate",
          "--port",
          "--token",
          "--reward-set");
    }
    if (kafka != null) BrokerCheck.require(kafka);
    var store = weightStore.store();
    // before the config is printed and --out locked
    if (livesHere(config)) {
      if (learner.resume()) requireFinishedLive(config);
      else checkLiveOptions();
    }
    // the live run's reward trainer writes --rm-out: one run at a time there, as in --out
    try (var rmLock =
            livesHere(config) && !learner.resume()
                ? StageOptions.lock("--rm-out", rmOut, "reward trainer")
                : null;
        var lock = learner.start(config, out);
        // a live run cannot be resumed (its reward trainer's --rm-out refuses a second start):
        // its notice says so
        var notice =
            livesHere(config)
                ? StopNotice.registerLive("ppo", learner.out(), rmOut, spec.commandLine().getErr())
                : StopNotice.register(
                    "ppo", learner.out(), spec.commandLine().getErr(), "update")) {
      return run(config, kafka, swapMode, store, out);
    }
  }

  /** --reward live without --bootstrap: the whole feedback loop runs in this process. */
  private boolean livesHere(PpoConfig config) {
    return PpoConfig.REWARD_LIVE.equals(config.reward()) && bootstrap == null && !inproc;
  }

  /**
   * A live run's reward trainer starts only once (its --rm-out refuses a second start), so a live
   * run cannot continue: only a finished one "resumes", with nothing to do (the demo run again).
   */
  private void requireFinishedLive(PpoConfig config) {
    long done = learner.stage.savedState().step();
    boolean finished;
    try {
      finished = LiveLoop.finished(learner.out());
    } catch (java.io.IOException e) {
      throw new UserError("--resume: " + e.getMessage(), e);
    }
    if (done >= config.updates() && finished) return;
    throw new UserError(
        "--resume: "
            + learner.out()
            + " holds a live run stopped at update "
            + done
            + " of "
            + config.updates()
            + ", and a live run cannot be continued (its reward trainer starts only once):"
            + " start a new one with another --out and --rm-out");
  }

  private void checkLiveOptions() {
    if (rmOut == null)
      throw new UserError("--reward live needs --rm-out DIR for the reward trainer");
    StageOptions.requireNotAFile("--rm-out", rmOut);
    var rm = rmOut.toAbsolutePath().normalize();
    var ppo = learner.out().toAbsolutePath().normalize();
    if (rm.startsWith(ppo) || ppo.startsWith(rm)) {
      // two writers of checkpoints in one directory: each would take the other's for its own
      throw new UserError(
          "--rm-out " + rmOut + " and --out " + learner.out() + " must not hold one another");
    }
    if (Checkpoint.exists(rmOut)) {
      throw new UserError(rmOut + " already holds a checkpoint: choose another --rm-out");
    }
    var rmParent = rm.getParent();
    if (rmParent != null) TaskFiles.requireOutsideCheckpoints("--rm-out", rmOut, rmParent);
    if (!(labelShare > 0 && labelShare <= 1)) {
      throw new UserError("--label-share must be in (0, 1], got " + labelShare);
    }
    if (!(labelRate > 0)) throw new UserError("--label-rate must be > 0, got " + labelRate);
    ListenPort.require(GatewaySettings.DEFAULT_HOST, port); // where the gateway will listen
    pageToken = GatewayToken.given(token); // a blank one is refused before anything is written
    try {
      liveReward =
          ConfigLoader.load(OnlineRewardConfig.defaults(), learner.preset(), null, rewardSets);
    } catch (IllegalArgumentException e) {
      throw new UserError(e.getMessage().replace("--set ", "--reward-set "), e);
    }
  }

  /** The live run's reward trainer settings, as {@link #checkLiveOptions} loaded them. */
  private OnlineRewardConfig liveReward;

  /**
   * The labeling page's token as {@link #checkLiveOptions} resolved it; null: the page makes one.
   */
  private String pageToken;

  /** The run, with --out locked for it. */
  private int run(
      PpoConfig config,
      KafkaAccess kafka,
      WeightSwap swapMode,
      WeightStore store,
      java.io.PrintWriter out)
      throws Exception {
    if (livesHere(config) && learner.resume()) { // finished: requireFinishedLive
      LocalLoop.sayFinished(out, learner.out(), config);
      return 0;
    }
    // the in-process actors, live or not: when they swap versions, where the policy bytes travel
    UnaryOperator<ActorSettings> actorSettings =
        settings -> settings.withSwap(swapMode).withWeightStore(store);
    if (livesHere(config)) {
      out.println(ConfigLoader.describe(liveReward));
      LiveLoop.run(
          config,
          liveReward,
          actors,
          learner.sft(),
          learner.rm(),
          rmOut,
          learner.out(),
          labelShare,
          labelRate,
          new LiveLoop.Page(port, pageToken),
          out,
          actorSettings);
      return 0;
    }
    if (inproc) {
      PpoLoop.inProcess(config, learner.sft(), learner.rm(), learner.out(), learner.resume(), out);
      return 0;
    }
    try {
      LocalLoop.run(
          config,
          actors,
          kafka,
          learner.sft(),
          learner.rm(),
          learner.out(),
          out,
          actorSettings,
          e -> {});
      return 0;
    } catch (IllegalStateException e) {
      var err = spec.commandLine().getErr();
      err.println("rlhf ppo: " + e.getMessage());
      // a part that failed for want of memory, say, rather than for a reason the loop reports
      if (e.getCause() instanceof Error error) error.printStackTrace(err);
      return 1;
    }
  }
}
