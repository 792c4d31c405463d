package io.streamrlhf.infra.bench;

import io.streamrlhf.infra.chaos.ChildJvm;
import io.streamrlhf.infra.chaos.Transcript;
import io.streamrlhf.infra.kafka.EmbeddedKafka;
import io.streamrlhf.learner.config.ConfigLoader;
import io.streamrlhf.learner.config.PpoConfig;
import io.streamrlhf.learner.ppo.GoldProxyCurve;
import io.streamrlhf.learner.ppo.PpoLoop;
import io.streamrlhf.learner.ppo.TimeToReward;
import io.streamrlhf.learner.stream.StreamStats;
import io.streamrlhf.schemas.signing.SigningKeys;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;

/**
 * The comparison of the synchronous and the asynchronous loop with the actor and the
 * learner on separate cores, two one-core machines emulated on one: for each mode a broker started
 * here (embedded KRaft, fresh topics), then one {@code rlhf actor} and one {@code rlhf learner} as
 * child JVMs, each pinned to its own CPU set ({@code --cpus}), on the gold reward ({@code reward =
 * oracle}) so that briefly trained or random models show progress; first {@code --sync} (max_lag
 * 0), then with the config's max_lag. Each mode's figures come from its learner's {@code
 * stream-stats.json} and the run's wall time; its gold-vs-proxy curve is the learner's {@code
 * gold-proxy.csv}, from which time to equal gold reward is read.
 */
public final class AsyncRace {
  /**
   * @param sft the SFT checkpoint (initial policy and reference)
   * @param config the loop's config (updates, batch sizes, max_lag of the async mode); the reward
   *     is set to the oracle
   * @param actorCpus the actor's CPU list (taskset syntax), or null for unpinned
   * @param learnerCpus the learner's CPU list, or null for unpinned
   * @param out where each mode's directories go ({@code sync/}, {@code async/})
   * @param childHeap each child JVM's -Xmx
   * @param timeout how long one mode may take before the race fails
   */
  public record Settings(
      Path sft,
      PpoConfig config,
      String actorCpus,
      String learnerCpus,
      Path out,
      String childHeap,
      Duration timeout) {}

  /**
   * One mode's figures.
   *
   * @param wallSeconds from starting the two processes to the learner's exit after its last update
   *     (both modes pay the same start-up)
   * @param goldProxyCsv the learner's gold-vs-proxy curve (written by the learner where it records
   *     one)
   */
  public record Mode(
      long maxLag,
      int updates,
      double wallSeconds,
      Double learnerIdleFraction,
      Double actorIdleFraction,
      long lagP50,
      long lagP99,
      long rolloutsApplied,
      String learnerOut,
      String goldProxyCsv) {}

  /**
   * The comparison the issue asks for: wall seconds of each mode to the same oracle score ({@link
   * TimeToReward}), null where a run did not reach it.
   *
   * @param syncOverAsync sync seconds ÷ async seconds: above 1, the asynchronous loop got there
   *     sooner
   */
  public record GoldRace(
      double startOracleScore,
      double targetOracleScore,
      Double syncSeconds,
      Double asyncSeconds,
      Double syncOverAsync,
      String described) {
    static GoldRace of(TimeToReward.Result r) {
      return new GoldRace(
          r.start(),
          r.target(),
          boxed(r.syncSeconds()),
          boxed(r.asyncSeconds()),
          boxed(r.syncOverAsync()),
          r.describe());
    }

    private static Double boxed(OptionalDouble value) {
      return value.isPresent() ? value.getAsDouble() : null;
    }
  }

  /**
   * @param timeToReward null where a learner wrote no gold-vs-proxy curve (fewer than two
   *     evaluations)
   */
  public record Result(
      String actorCpus,
      String learnerCpus,
      Mode sync,
      Mode async,
      double wallSyncOverAsync,
      GoldRace timeToReward) {}

  /**
   * BENCHMARKS.md's "async ÷ sync time to equal reward": async seconds ÷ sync seconds to the same
   * oracle score, below 1 where the asynchronous loop got there sooner; null where a run did not
   * reach it (or the sync run reached it at once).
   */
  public static Double asyncOverSyncTimeToReward(Result race) {
    var gold = race.timeToReward();
    if (gold == null || gold.syncSeconds() == null || gold.asyncSeconds() == null) return null;
    if (gold.syncSeconds() <= 0) return null;
    return gold.asyncSeconds() / gold.syncSeconds();
  }

  /**
   * The whole race's wall seconds, async ÷ sync: below 1, the asynchronous loop finished sooner.
   */
  public static double asyncOverSyncWall(Result race) {
    return race.async().wallSeconds() / race.sync().wallSeconds();
  }

  private static final String ACTOR = "actor-1";

  private AsyncRace() {}

  /**
   * Runs the synchronous loop, then the asynchronous one; the children's lines go to {@code log}.
   */
  public static Result run(Settings settings, PrintWriter log) throws IOException {
    var config = ConfigLoader.with(settings.config(), "reward=" + PpoConfig.REWARD_ORACLE);
    var sync = mode(settings, ConfigLoader.with(config, "max_lag=0"), "sync", log);
    var async = mode(settings, config, "async", log);
    return new Result(
        settings.actorCpus(),
        settings.learnerCpus(),
        sync,
        async,
        sync.wallSeconds() / async.wallSeconds(),
        goldRace(sync, async, log));
  }

  private static GoldRace goldRace(Mode sync, Mode async, PrintWriter log) throws IOException {
    var syncCurve = Path.of(sync.goldProxyCsv());
    var asyncCurve = Path.of(async.goldProxyCsv());
    if (!Files.exists(syncCurve) || !Files.exists(asyncCurve)) return null;
    try {
      var result =
          TimeToReward.compare(GoldProxyCurve.read(syncCurve), GoldProxyCurve.read(asyncCurve));
      log.println("race: time to equal gold reward: " + result.describe());
      log.flush();
      return GoldRace.of(result);
    } catch (IllegalArgumentException e) { // a curve of one evaluation: nothing to compare
      log.println("race: no time to equal gold reward: " + e.getMessage());
      log.flush();
      return null;
    }
  }

  private static Mode mode(Settings settings, PpoConfig config, String name, PrintWriter log)
      throws IOException {
    var dir = settings.out().resolve(name);
    var learnerOut = dir.resolve("learner");
    var settingsDir = dir.resolve("settings");
    ConfigLoader.save(config, settingsDir);
    var configFile = settingsDir.resolve(ConfigLoader.FILE_NAME);
    var keys = dir.resolve("signing");
    SigningKeys.inDirectory(keys); // before either starts: the actor checks every version
    var transcript = new Transcript(log, "race");
    transcript.note("race: " + name + " (max_lag " + config.maxLag() + ")");
    try (var kafka = EmbeddedKafka.start()) {
      var bootstrap = kafka.bootstrapServers();
      var models = new ArrayList<>(List.of("--sft", settings.sft().toString()));
      var common = new ArrayList<>(List.of("--bootstrap", bootstrap));
      common.addAll(models);
      common.addAll(List.of("--config", configFile.toString()));
      var learnerArgs = new ArrayList<>(List.of("learner"));
      learnerArgs.addAll(common);
      learnerArgs.addAll(
          List.of(
              "--out",
              learnerOut.toString(),
              "--signing-key",
              keys.resolve(SigningKeys.PRIVATE_FILE).toString(),
              "--rollout-wait",
              settings.timeout().toString()));
      pin(learnerArgs, settings.learnerCpus());
      var actorArgs = new ArrayList<>(List.of("actor"));
      actorArgs.addAll(common);
      actorArgs.addAll(
          List.of(
              "--id",
              ACTOR,
              "--weights-key",
              keys.resolve(SigningKeys.PUBLIC_FILE).toString(),
              "--version-wait",
              settings.timeout().toString()));
      pin(actorArgs, settings.actorCpus());
      long started = System.nanoTime();
      var actor =
          ChildJvm.start(ACTOR, actorArgs, settings.childHeap(), List.of(), Map.of(), transcript);
      var learner =
          ChildJvm.start(
              "learner", learnerArgs, settings.childHeap(), List.of(), Map.of(), transcript);
      try {
        long deadline = started + settings.timeout().toNanos();
        // the learner's exit ends the mode; an actor that exits first would leave it waiting
        while (!learner.awaitExit(Duration.ofSeconds(1)) && System.nanoTime() < deadline) {
          if (!actor.alive() && !learner.awaitExit(Duration.ofSeconds(5)))
            throw new Failed(
                "race "
                    + name
                    + ": the actor exited with code "
                    + actor.exitCode().orElse(-1)
                    + " before the learner finished: "
                    + transcript.tail(ACTOR, 3));
        }
        if (learner.alive())
          throw new Failed(
              "race "
                  + name
                  + ": the learner did not finish within "
                  + settings.timeout().toSeconds()
                  + " s; its last lines: "
                  + transcript.tail("learner", 3));
        double wall = (System.nanoTime() - started) / 1e9;
        int code = learner.exitCode().orElse(-1);
        if (code != 0)
          throw new Failed(
              "race "
                  + name
                  + ": the learner exited with code "
                  + code
                  + ": "
                  + transcript.tail("learner", 3)
                  + "; the actor's last lines: "
                  + transcript.tail(ACTOR, 2));
        var stats = StreamStats.Summary.read(learnerOut);
        return new Mode(
            config.maxLag(),
            config.updates(),
            wall,
            stats.learnerIdleFraction(),
            stats.actorIdleFraction(),
            stats.lagP50(),
            stats.lagP99(),
            stats.rolloutsApplied(),
            learnerOut.toString(),
            learnerOut.resolve(PpoLoop.CURVE_CSV).toString());
      } finally {
        actor.stop(Duration.ofSeconds(30));
        learner.stop(Duration.ofSeconds(30));
      }
    }
  }

  private static void pin(List<String> args, String cpus) {
    if (cpus != null) args.addAll(List.of("--cpus", cpus));
  }

  /**
   * A mode that did not finish: a child that exited before its time or with an error, or a learner
   * that took longer than the timeout. The message says which, with the child's last lines.
   */
  public static final class Failed extends IllegalStateException {
    Failed(String message) {
      super(message);
    }
  }

  /** Refuses an {@code out} that holds anything: each mode starts a fresh learner there. */
  public static void requireEmpty(Path out) throws IOException {
    if (Files.exists(out) && !Files.isDirectory(out))
      throw new IllegalArgumentException(
          out + " is a file: give the race a new or empty directory");
    if (!Files.isDirectory(out)) return;
    try (var entries = Files.list(out)) {
      if (entries.findAny().isPresent())
        throw new IllegalArgumentException(out + " is not empty: give the race a fresh directory");
    }
  }
}
