package io.streamrlhf.infra.stream;

import io.streamrlhf.actors.ActorNode;
import io.streamrlhf.actors.LabelerSettings;
import io.streamrlhf.actors.SimulatedLabelers;
import io.streamrlhf.actors.Supervisor;
import io.streamrlhf.actors.gateway.GatewayNode;
import io.streamrlhf.actors.gateway.GatewaySettings;
import io.streamrlhf.infra.kafka.EmbeddedKafka;
import io.streamrlhf.infra.kafka.TopicProvisioner;
import io.streamrlhf.learner.config.OnlineRewardConfig;
import io.streamrlhf.learner.config.PpoConfig;
import io.streamrlhf.learner.stream.RewardTrainer;
import io.streamrlhf.model.checkpoint.Json;
import io.streamrlhf.schemas.AvroCodec;
import io.streamrlhf.schemas.Comparison;
import io.streamrlhf.schemas.RecordChecks;
import io.streamrlhf.schemas.Topics;
import io.streamrlhf.schemas.UndecodableRecordException;
import io.streamrlhf.schemas.WeightModel;
import io.streamrlhf.schemas.signing.SigningKeys;
import io.streamrlhf.schemas.transport.KafkaAccess;
import io.streamrlhf.schemas.transport.KafkaClientConfigs;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;

/**
 * The loop with live feedback in one process (DESIGN.md's whole diagram): an embedded broker, the
 * feedback gateway and its labeling page, simulated labelers, the online reward trainer, N actors
 * that ask for rankings and score with the newest reward-model version, and the PPO learner. A
 * person can rank on the page beside the simulated labelers.
 *
 * <p>After PPO it times every ranking's way into a score: from the comparison's creation to the
 * first moment an actor applied a reward-model version trained on it.
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
   */
  public record Figures(
      long rankings, long timedRankings, long latencyP50Ms, long latencyP99Ms, long versions) {
    String line() {
      // with nothing timed the percentiles are -1 ms, not a latency
      var latency =
          timedRankings == 0
              ? "none timed yet"
              : String.format(
                  "p50 %.1f s, p99 %.1f s (%d timed)",
                  latencyP50Ms / 1e3, latencyP99Ms / 1e3, timedRankings);
      return String.format(
          "%d rankings taken in; ranking to an actor scoring with a reward model trained on it:"
              + " %s; %d reward-model versions applied",
          rankings, latency, versions);
    }
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
            reward.publishEverySteps(), reward.publishEverySteps(), reward.comparisonsPerStep());
      }
      var labelerSettings = LabelerSettings.of(bootstrap).withRate(labelRate);
      feedback.start(
          "labelers", () -> new Labelers(SimulatedLabelers.deploy(vertx, labelerSettings, log)));
      // the reward trainer signs with the key pair in rmOut; the actors trust it, in memory
      var rewardKey = SigningKeys.inDirectory(rmOut).publicKey();
      var trainer =
          new RewardTrainer(
              reward, RewardTrainer.Settings.of(bootstrap), sftDir, rmStart, rmOut, false, out);
      var training =
          CompletableFuture.supplyAsync(
              () -> {
                try {
                  return trainer.run();
                } catch (IOException e) {
                  throw new java.io.UncheckedIOException(e);
                }
              });
      var applied =
          new ConcurrentHashMap<Long, Long>(); // reward version -> first applied (epoch ms)
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
            s ->
                s.withLabelRequests(labelShare, 4)
                    .withWeightKeys(s.weightKeys().with(WeightModel.REWARD, rewardKey)),
            e -> applied.merge(e.getLong("version"), e.getLong("appliedAt"), Math::min));
      } finally {
        trainer.stop();
        try {
          if (!trainer.awaitFinished(STOP_WAIT))
            out.println("live: the reward trainer did not stop");
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
        feedback.close();
        vertx.close().toCompletionStage().toCompletableFuture().join();
      }
      var taken = training.join().seen();
      var figures = figures(bootstrap, rmOut, applied, taken);
      Json.writeAtomically(figures, ppoOut.resolve(FILE));
      out.println("live: " + figures.line());
      out.flush();
      return figures;
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
   * Comparison i (in topic order, the order the trainer takes them in) is first scored with the
   * earliest-applied version whose trainer had seen more than i comparisons; only the first {@code
   * taken}, those the trainer took in, count.
   */
  private static Figures figures(String bootstrap, Path rmOut, Map<Long, Long> applied, long taken)
      throws IOException {
    var seenByVersion = new TreeMap<Long, Long>();
    var rows = Files.readAllLines(rmOut.resolve(RewardTrainer.ACCURACY_CSV));
    var header = Arrays.asList(rows.get(0).split(","));
    int seenCol = header.indexOf("comparisons_seen");
    int versionCol = header.indexOf("version");
    for (var row : rows.subList(1, rows.size())) {
      var cells = row.split(",");
      seenByVersion.put(Long.parseLong(cells[versionCol]), Long.parseLong(cells[seenCol]));
    }
    var created = comparisonTimes(bootstrap);
    // rankings the trainer had not read or taken in when it stopped (the labelers and the page
    // rank until they stop, after it) are on the topic, but no version learned from them
    created = created.subList(0, (int) Math.min(created.size(), taken));
    var latencies = new ArrayList<Long>();
    for (int i = 0; i < created.size(); i++) {
      long first = Long.MAX_VALUE;
      for (var v : applied.entrySet()) {
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
        applied.size());
  }

  private static long percentile(List<Long> sorted, double q) {
    if (sorted.isEmpty()) return -1;
    return sorted.get(Math.min(sorted.size() - 1, (int) Math.floor(q * sorted.size())));
  }

  /**
   * Every comparison's creation time (epoch ms), in topic order, as the trainer counts them: one it
   * dead-letters, or a repeat of an id read before, is left out (a repeat of an unusable one, which
   * the trainer skips again, is left out too: rare, and only a figure moves).
   */
  private static List<Long> comparisonTimes(String bootstrap) {
    var codec = AvroCodec.of(Comparison.class);
    var times = new ArrayList<Long>();
    var ids = new java.util.HashSet<String>();
    // the live run's own broker makes the topic with its one partition (Topics): topic order is
    // that partition's, the order the trainer took the comparisons in
    var tp = new TopicPartition(Topics.COMPARISONS, 0);
    try (var consumer =
        new KafkaConsumer<byte[], byte[]>(
            KafkaClientConfigs.groupConsumer(bootstrap, "rlhf-live-figures", "live-figures"))) {
      consumer.assign(List.of(tp));
      consumer.seekToBeginning(List.of(tp));
      long end = consumer.endOffsets(List.of(tp)).get(tp);
      while (consumer.position(tp) < end) {
        for (var record : consumer.poll(Duration.ofMillis(500))) {
          try {
            var comparison = codec.decode(record.value());
            if (RecordChecks.COMPARISON.problem(comparison).isEmpty()
                && ids.add(comparison.getComparisonId()))
              times.add(comparison.getCreatedAt().toEpochMilli());
          } catch (UndecodableRecordException deadLettered) {
            // the trainer and the gateway dead-lettered it; no figure to take from it
          }
        }
      }
    }
    return times;
  }
}
