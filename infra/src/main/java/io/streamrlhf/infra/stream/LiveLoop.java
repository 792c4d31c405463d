package io.streamrlhf.infra.stream;

import io.streamrlhf.actors.ActorNode;
import io.streamrlhf.actors.ActorSettings;
import io.streamrlhf.actors.LabelerSettings;
import io.streamrlhf.actors.SimulatedLabelers;
import io.streamrlhf.actors.Supervisor;
import io.streamrlhf.actors.gateway.GatewayNode;
import io.streamrlhf.actors.gateway.GatewaySettings;
import io.streamrlhf.infra.exit.ExitHooks;
import io.streamrlhf.infra.kafka.EmbeddedKafka;
import io.streamrlhf.infra.kafka.TopicProvisioner;
import io.streamrlhf.learner.config.OnlineRewardConfig;
import io.streamrlhf.learner.config.PpoConfig;
import io.streamrlhf.learner.stream.RewardTrainer;
import io.streamrlhf.model.checkpoint.Json;
import io.streamrlhf.schemas.WeightModel;
import io.streamrlhf.schemas.signing.SigningKeys;
import io.streamrlhf.schemas.transport.KafkaAccess;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;

/**
 * The loop with live feedback in one process (DESIGN.md's whole diagram): an embedded broker, the
 * feedback gateway and its labeling page, simulated labelers, the online reward trainer, N actors
 * that ask for rankings and score with the newest reward-model version, and the PPO learner. A
 * person can rank on the page beside the simulated labelers.
 *
 * <p>It times every ranking's way into a score: from the comparison's creation to the first moment
 * an actor applied a reward-model version trained on it; a run stopped by a signal writes the
 * figures so far, marked unfinished.
 *
 * <p>Actors, simulated labelers and the gateway are supervised: one that fails is replaced by a
 * fresh deployment ({@link Supervisor}; a restarted gateway listens on the same port).
 */
public final class LiveLoop {
  /** What the loop measured, written as {@value #FILE} into the PPO directory. */
  public static final String FILE = "live.json";

  private static final Duration STOP_WAIT = Duration.ofSeconds(120);

  private LiveLoop() {}

  /**
   * Ranking-to-scoring latency over {@code rankings} comparisons, and how many reward-model
   * versions actors applied.
   *
   * @param rankings the comparisons the reward trainer took in (trained on, held out or skipped);
   *     not those it had not read, or not yet taken in, when it stopped
   * @param untaken the records on the comparisons topic the trainer had not taken in when it
   *     stopped, lost with the run's broker; -1 when not counted (a run stopped by a signal writes
   *     its figures before the trainer counts)
   * @param finished false for the figures of a run stopped before its end (by a signal)
   */
  public record Figures(
      long rankings,
      long timedRankings,
      long latencyP50Ms,
      long latencyP99Ms,
      long versions,
      long untaken,
      boolean finished) {
    String line() {
      // with nothing timed the percentiles are -1 ms, not a latency
      var latency =
          timedRankings == 0
              ? "none timed yet"
              : String.format(
                  "p50 %.1f s, p99 %.1f s (%d timed)",
                  latencyP50Ms / 1e3, latencyP99Ms / 1e3, timedRankings);
      // rankings acknowledged to their labelers but never trained on: the topic goes with the run
      var left =
          untaken > 0
              ? String.format(
                  "; %d more arrived than the reward trainer took in before the end, never trained"
                      + " on",
                  untaken)
              : "";
      return String.format(
          "%d rankings taken in; ranking to an actor scoring with a reward model trained on it:"
              + " %s; %d reward-model versions applied%s",
          rankings, latency, versions, left);
    }
  }

  /**
   * Whether {@code ppoOut} holds the figures of a live run that reached its end: a run stopped
   * before it writes its figures so far, marked unfinished (a file without the mark is an older
   * build's, which wrote it only at the end).
   */
  public static boolean finished(Path ppoOut) throws IOException {
    var figures = written(ppoOut);
    return figures != null && figures.path("finished").asBoolean(true);
  }

  /**
   * The figures in {@code ppoOut}'s {@link #FILE} as written, or null when there is none.
   *
   * @throws IOException naming the file when it is not the JSON object a live run writes
   */
  public static com.fasterxml.jackson.databind.node.ObjectNode written(Path ppoOut)
      throws IOException {
    var file = ppoOut.resolve(FILE);
    if (!Files.isRegularFile(file)) return null;
    com.fasterxml.jackson.databind.JsonNode node;
    try {
      node = Json.MAPPER.readTree(file.toFile());
    } catch (com.fasterxml.jackson.core.JacksonException e) {
      throw new IOException(file + " is not the JSON a live run writes: " + e.getOriginalMessage());
    }
    if (!(node instanceof com.fasterxml.jackson.databind.node.ObjectNode figures))
      throw new IOException(file + " is not the JSON a live run writes: not an object");
    return figures;
  }

  /**
   * Where the labeling page listens and the bearer token it asks for.
   *
   * @param port the gateway's HTTP port (0: any free one)
   * @param token the token the user chose, or null for a generated one (printed)
   */
  public record Page(int port, String token) {}

  /**
   * Runs PPO against the live reward model until {@code ppo.updates()}; the reward trainer starts
   * from the reward model in {@code rmStart}, or cold from {@code sftDir} when it is null, and
   * writes its checkpoint to {@code rmOut}.
   *
   * @param labelShare the share of prompts actors send to be ranked
   * @param labelRate simulated labelers' requests per second
   */
  public static Figures run(
      PpoConfig ppo,
      OnlineRewardConfig reward,
      int actors,
      Path sftDir,
      Path rmStart,
      Path rmOut,
      Path ppoOut,
      double labelShare,
      double labelRate,
      Page page,
      PrintWriter out)
      throws IOException {
    return run(
        ppo,
        reward,
        actors,
        sftDir,
        rmStart,
        rmOut,
        ppoOut,
        labelShare,
        labelRate,
        page,
        out,
        UnaryOperator.identity());
  }

  /**
   * {@link #run} with each actor's settings adjusted by {@code actorSettings} first, as {@link
   * LocalLoop#run} takes them: when the actors swap policy versions, and the weight store the
   * learner publishes to and they read from. The live loop's own settings (label requests, the
   * reward trainer's key) are applied after it.
   */
  public static Figures run(
      PpoConfig ppo,
      OnlineRewardConfig reward,
      int actors,
      Path sftDir,
      Path rmStart,
      Path rmOut,
      Path ppoOut,
      double labelShare,
      double labelRate,
      Page page,
      PrintWriter out,
      UnaryOperator<ActorSettings> actorSettings)
      throws IOException {
    if (!PpoConfig.REWARD_LIVE.equals(ppo.reward())) {
      throw new IllegalArgumentException(
          "a live loop scores with reward=live, got " + ppo.reward());
    }
    // its reward trainer starts only once: a live run stopped before its end cannot continue
    var afterHalt =
        "a live run cannot be continued: delete "
            + ppoOut
            + " and "
            + rmOut
            + ", or choose others, to run it again";
    try (var broker =
        EmbeddedKafka.start(EmbeddedKafka.Options.defaults().withAfterHalt(afterHalt))) {
      var bootstrap = broker.bootstrapServers();
      TopicProvisioner.provision(
          KafkaAccess.plaintext(bootstrap), Duration.ofSeconds(60), ppo.promptPartitions());
      var vertx = ActorNode.newVertx();
      Consumer<String> log =
          line -> {
            // a signal closes the broker in its own exit hook while the page still reads from it:
            // the feed's retry line would then tell of the stop, not of an outage
            if (ExitHooks.exiting() && line.startsWith(GatewayNode.READ_FAILED)) return;
            synchronized (out) {
              out.println(line);
              out.flush();
            }
          };
      var token = page.token() != null ? page.token() : GatewaySettings.generateToken();
      var feedback = new Supervisor("live", log);
      // a restart keeps the page's address: the port the first deployment listened on
      var listenOn = new AtomicInteger(page.port());
      var gateway =
          feedback.start(
              "gateway",
              () -> {
                var settings = GatewaySettings.of(bootstrap, listenOn.get(), token);
                var node = GatewayNode.deploy(vertx, settings, log);
                listenOn.set(node.port());
                return node;
              });
      out.printf(
          "live: labeling page at %s (bearer token %s); simulated labelers rank %.1f requests/s"
              + " beside you%n",
          gateway.url(), page.token() != null ? "as given" : token, labelRate);
      if (rmStart == null) {
        // said, or a user reads the updates' "rm 0.000" as a fault
        out.printf(
            "live: a cold start: until the reward trainer publishes its first trained version (v%d,"
                + " after %d optimizer step(s) of up to %d fresh rankings), the reward model is v0,"
                + " an untrained head that scores every answer 0, and PPO's updates follow only"
                + " the KL term (--rm DIR starts from a trained reward model)%n",
            reward.publishEverySteps(), reward.publishEverySteps(), reward.maxFreshPerStep());
      }
      var labelerSettings = LabelerSettings.of(bootstrap).withRate(labelRate);
      feedback.start(
          "labelers", () -> new Labelers(SimulatedLabelers.deploy(vertx, labelerSettings, log)));
      // the reward trainer signs with the key pair in rmOut; the actors trust it, in memory
      var rewardKey = SigningKeys.inDirectory(rmOut).publicKey();
      var tally = new Tally();
      var trainer =
          new RewardTrainer(
              reward,
              RewardTrainer.Settings.of(bootstrap).withIntake(tally),
              sftDir,
              rmStart,
              rmOut,
              false,
              out);
      var training =
          CompletableFuture.supplyAsync(
              () -> {
                try {
                  return trainer.run();
                } catch (IOException e) {
                  throw new java.io.UncheckedIOException(e);
                }
              });
      // a run stopped by a signal ends in the JVM's exit, not here: the figures so far, from memory
      var onStop =
          new Thread(
              () -> {
                // torch must not be at work in the trainer as the JVM exits: halted, it
                // checkpoints and ends without waiting on the broker, which closes as well
                trainer.halt();
                awaitStop(trainer, out);
                var soFar = tally.figures(false);
                try {
                  Json.writeAtomically(soFar, ppoOut.resolve(FILE));
                  out.println("live: stopped before its end; so far " + soFar.line());
                } catch (IOException | RuntimeException e) {
                  out.println("live: cannot write " + ppoOut.resolve(FILE) + ": " + e.getMessage());
                }
                out.flush();
              },
              "rlhf-live-figures");
      Runtime.getRuntime().addShutdownHook(onStop);
      boolean exiting = false;
      boolean ppoDone = false;
      try {
        try {
          awaitFirstVersion(
              trainer); // actors score with nothing else: a trainer that fails ends here
          LocalLoop.run(
              ppo,
              actors,
              broker.access(),
              sftDir,
              null,
              ppoOut,
              out,
              given -> {
                var s = actorSettings.apply(given);
                return s.withLabelRequests(labelShare, 4)
                    .withWeightKeys(s.weightKeys().with(WeightModel.REWARD, rewardKey));
              },
              e -> tally.applied(e.getLong("version"), e.getLong("appliedAt")));
          ppoDone = true;
        } finally {
          try {
            if (ppoDone)
              out.println(
                  "live: PPO is done: the labeling page and the simulated labelers stop, and the"
                      + " reward trainer takes in the rankings left");
            feedback.close(); // no ranking comes after this: what is on the topic is all
          } finally {
            if (ppoDone && !ExitHooks.exiting()) {
              // PPO is done and the CPU is the trainer's: the rankings given are trained on
              trainer.finish();
              training.exceptionally(e -> null).join();
            } else {
              if (ExitHooks.exiting()) trainer.halt();
              else trainer.stop();
              awaitStop(trainer, out);
            }
            vertx.close().toCompletionStage().toCompletableFuture().join();
          }
        }
      } finally {
        // removed however the run ended (a failure is no stop); only a signal's exit keeps it
        // a signal: the hook writes the figures so far, as unfinished
        exiting = !ExitHooks.remove(onStop);
      }
      training.join();
      var figures = tally.figures(!exiting);
      if (exiting) return figures;
      Json.writeAtomically(figures, ppoOut.resolve(FILE));
      if (figures.rankings() == 0) { // a run that exits 0 having learned nothing from people
        out.printf(
            "live: no ranking reached the reward trainer, so its reward model learned nothing:"
                + " the simulated labelers rank only once %d label requests have come (they"
                + " calibrate their noise on them), and no person ranked; give more updates or a"
                + " larger --label-share%n",
            labelerSettings.calibrationRequests());
      }
      out.println("live: " + figures.line());
      out.flush();
      return figures;
    }
  }

  /** Waits for a stopped trainer's last checkpoint, up to 2 minutes. */
  private static void awaitStop(RewardTrainer trainer, PrintWriter out) {
    try {
      if (!trainer.awaitFinished(STOP_WAIT)) out.println("live: the reward trainer did not stop");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Waits for the trainer's first published version; rethrows what ended the trainer before. */
  private static void awaitFirstVersion(RewardTrainer trainer) throws IOException {
    try {
      trainer.firstPublished().join();
    } catch (java.util.concurrent.CompletionException e) {
      if (e.getCause() instanceof IOException io) throw io;
      if (e.getCause() instanceof RuntimeException re) throw re;
      throw e;
    }
  }

  /** The simulated labelers as a part the supervisor can stop and deploy again. */
  private record Labelers(SimulatedLabelers verticle) implements Supervisor.Part {
    @Override
    public CompletableFuture<Void> ended() {
      return verticle.ended();
    }

    @Override
    public void stop() {
      verticle.undeploy();
    }
  }

  /**
   * What the ranking-to-scoring latency is computed from, gathered as the loop runs: the trainer's
   * intake (each comparison's creation time, in the order taken in, and what each version saw) and
   * the actors' first application of each version. Held in memory, so a run stopped by a signal
   * still has its figures when its broker is gone.
   */
  static final class Tally implements RewardTrainer.Intake {
    private final List<Long> created = new ArrayList<>(); // -1: trained on by no version
    private final Map<Long, Long> seenByVersion = new HashMap<>();
    private final Map<Long, Long> appliedAt = new HashMap<>(); // version -> first applied (ms)
    private long untaken = -1; // not counted (yet)

    @Override
    public synchronized void taken(long createdAtMillis) {
      created.add(createdAtMillis);
    }

    @Override
    public synchronized void published(long version, long seen) {
      seenByVersion.put(version, seen);
    }

    @Override
    public synchronized void untaken(long comparisons) {
      untaken = comparisons;
    }

    /** An actor applied reward-model {@code version} at {@code atMillis} (epoch ms). */
    synchronized void applied(long version, long atMillis) {
      appliedAt.merge(version, atMillis, Math::min);
    }

    /**
     * Comparison i (in the order taken in) is first scored with the earliest-applied version that
     * saw more than i comparisons; one skipped as unusable or held out trained no version and is
     * not timed.
     */
    synchronized Figures figures(boolean finished) {
      var latencies = new ArrayList<Long>();
      for (int i = 0; i < created.size(); i++) {
        if (created.get(i) < 0) continue;
        long first = Long.MAX_VALUE;
        for (var v : appliedAt.entrySet()) {
          var seen = seenByVersion.get(v.getKey());
          if (seen != null && seen > i) first = Math.min(first, v.getValue());
        }
        if (first != Long.MAX_VALUE) latencies.add(Math.max(0, first - created.get(i)));
      }
      latencies.sort(null);
      return new Figures(
          created.size(),
          latencies.size(),
          percentile(latencies, 0.50),
          percentile(latencies, 0.99),
          appliedAt.size(),
          untaken,
          finished);
    }
  }

  private static long percentile(List<Long> sorted, double q) {
    if (sorted.isEmpty()) return -1;
    return sorted.get(Math.min(sorted.size() - 1, (int) Math.floor(q * sorted.size())));
  }
}
