package io.streamrlhf.infra.cli;

import ai.djl.engine.Engine;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.streamrlhf.infra.affinity.CpuSet;
import io.streamrlhf.infra.bench.AsyncRace;
import io.streamrlhf.infra.bench.ModelBench;
import io.streamrlhf.infra.bench.PeerRatios;
import io.streamrlhf.infra.bench.PeerRun;
import io.streamrlhf.infra.bench.StreamBench;
import io.streamrlhf.infra.chaos.TinyModels;
import io.streamrlhf.learner.config.ConfigLoader;
import io.streamrlhf.learner.config.PpoConfig;
import io.streamrlhf.model.GptConfig;
import io.streamrlhf.model.checkpoint.Checkpoint;
import io.streamrlhf.model.checkpoint.Json;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code rlhf bench}: BENCHMARKS.md's measurements on the bench-small shape, printed as one JSON
 * object; with {@code --compare-peer}, the PyTorch peer's figures from the same invocation and the
 * ratios (peer ÷ ours for times, ours ÷ peer for rates).
 */
@Command(
    name = "bench",
    mixinStandardHelpOptions = true,
    showDefaultValues = true,
    description = {
      "Measures generation, the PPO update and the GEMM ceiling, the rollout stream through Kafka,"
          + " the weights' path, and last the sync vs async race (the longest part; --only race runs"
          + " it alone); prints one JSON object.",
      "Streaming keys: an embedded Kafka broker and one actor with random bench-small models; rollouts/s"
          + " through Kafka vs in memory for the same prompts, and weights publish-to-apply at an idle"
          + " actor.",
      "Shape bench-small (d_model 256, 4 layers, 4 heads; batch 16 x (32 prompt + 64 new tokens)).",
      "Times are medians over repeated runs after a warm-up; 'spread' gives min and max.",
      "With --compare-peer, rounds alternate ours and the peer's runs; ratios are medians over rounds."
    })
public final class BenchCommand implements Callable<Integer> {
  @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

  @Option(names = "--quick", description = "Fewer repetitions (a smoke run; figures are noisier).")
  boolean quick;

  @Option(
      names = "--compare-peer",
      description =
          "Also run bench/peer.py (PyTorch eager) and add 'peer' and 'ratios'; refused at start"
              + " where it cannot run (no script, no Python with PyTorch).")
  boolean comparePeer;

  @Option(
      names = "--threads",
      paramLabel = "N",
      description = "Intra-op threads for PyTorch, ours and the peer's.")
  int threads = 2;

  @Option(
      names = "--rounds",
      paramLabel = "N",
      description =
          "With --compare-peer: rounds alternating ours and the peer's "
              + "measurements; each ratio is the median over rounds (default 3, 1 with --quick).")
  Integer rounds;

  /** What {@code --only} can measure alone. */
  enum Only {
    weights,
    race
  }

  @Option(
      names = "--only",
      paramLabel = "PART",
      description =
          "Measure one part alone: 'weights' times only the PPO step and weights publish-to-apply"
              + " with its phases (seconds, not minutes; no generation, GEMM or rollout stream);"
              + " 'race' runs only the sync vs async loop (the async keys)."
              + " Valid: ${COMPLETION-CANDIDATES}.")
  Only only;

  @Option(
      names = "--race-sft",
      defaultValue = "runs/demo/sft",
      paramLabel = "DIR",
      description =
          "SFT checkpoint the sync vs async race starts from (default: the demo's; where that does"
              + " not exist, a random bench-small policy, on which the gold score may not move and"
              + " async_over_sync_time_to_reward stays null). Given on the command line, it must"
              + " hold an SFT model.")
  Path raceSft;

  @Option(
      names = "--peer-script",
      paramLabel = "FILE",
      description = "The peer script (default: bench/peer.py in the project).")
  Path peerScript;

  @Override
  public Integer call() throws Exception {
    if (threads < 1) {
      throw new UserError("--threads must be at least 1, got " + threads);
    }
    if (rounds != null && rounds < 1) {
      throw new UserError("--rounds must be at least 1, got " + rounds);
    }
    if (!comparePeer && (rounds != null || peerScript != null)) {
      throw new UserError(
          (rounds != null ? "--rounds" : "--peer-script")
              + " is for the peer comparison: add --compare-peer, or drop it");
    }
    if (only != null && comparePeer) {
      throw new UserError("--compare-peer compares every key; it cannot be combined with --only");
    }
    if (only == Only.weights) GivenFlags.refuse(spec, "--only weights runs no race", "--race-sft");
    if (only != Only.weights
        && spec.commandLine().getParseResult().hasMatchedOption("--race-sft")) {
      // the race runs last: a wrong model named by hand would end minutes of measurements
      StageOptions.requireCheckpoint("--race-sft", raceSft, "sft");
    }
    if (comparePeer) {
      var why =
          PeerRun.unavailable(
              peerScript != null ? peerScript : projectRoot().resolve("bench/peer.py"));
      if (why != null)
        throw new UserError(
            why + ": --compare-peer cannot run the peer (drop it to measure ours alone)");
    }
    // Read by DJL when the engine loads (the native library must be loaded before any JniUtils
    // call).
    System.setProperty("ai.djl.pytorch.num_threads", Integer.toString(threads));
    System.setProperty("ai.djl.pytorch.num_interop_threads", "1");
    Engine.getEngine("PyTorch");
    if (only == Only.weights) return weightsOnly();
    if (only == Only.race) {
      var out = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).createObjectNode();
      putRace(out);
      System.out.println(out.toPrettyString());
      return 0;
    }
    var script = peerScript != null ? peerScript : projectRoot().resolve("bench/peer.py");
    int roundCount = !comparePeer ? 1 : rounds != null ? rounds : quick ? 1 : 3;
    int repeats = quick ? 2 : 3;
    var results = new ArrayList<ModelBench.Result>();
    var peers = new ArrayList<JsonNode>();
    var ratios = new PeerRatios();
    String peerNote = null;
    for (int round = 0; round < roundCount; round++) {
      // Alternate who goes first, so a load that rises or falls during a round favours neither
      // side.
      boolean peerFirst = round % 2 == 1;
      JsonNode peer = null;
      if (comparePeer && peerNote == null && peerFirst) {
        peer = runPeer(script, round, roundCount, repeats);
        peerNote = peer == null ? lastPeerNote : null;
      }
      System.err.println(
          "bench: round "
              + (round + 1)
              + "/"
              + roundCount
              + ": measuring the bench-small shape ("
              + (quick ? "quick" : "full")
              + ")...");
      var result = new ModelBench(GptConfig.small(), ModelBench.Shape3.BENCH, repeats).run();
      results.add(result);
      if (comparePeer && peerNote == null && !peerFirst) {
        peer = runPeer(script, round, roundCount, repeats);
        peerNote = peer == null ? lastPeerNote : null;
      }
      if (peer != null) {
        peers.add(peer);
        ratios.addRound(medians(result), peerFigures(peer));
      }
    }

    System.err.println(
        "bench: streaming: embedded Kafka broker, one actor, bench-small models (random init)...");
    var workload = StreamBench.Workload.bench(quick ? 2 : 4);
    var stream = new StreamBench(GptConfig.small(), workload, quick ? 2 : 5, quick ? 3 : 9).run();

    var json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    ObjectNode out = json.createObjectNode();
    var first = results.get(0);
    out.put("shape", "bench-small");
    out.put("params", first.parameters());
    out.put("threads", first.threads());
    var figures = new LinkedHashMap<String, ModelBench.Figure>();
    for (var key : KEY_ORDER) {
      figures.put(key, pooled(results, key));
    }
    for (var key : KEY_ORDER) {
      out.put(key, figures.get(key).median());
    }
    out.put(
        "ppo_step_mfu",
        median(results.stream().mapToDouble(ModelBench.Result::ppoStepMfu).toArray()));
    out.put(
        "gen_kv_over_nocache",
        figures.get("gen_kv_tokens_per_s").median()
            / figures.get("gen_nocache_tokens_per_s").median());
    out.put("stream_rollouts_per_s", stream.streamRolloutsPerS().median());
    out.put("inproc_rollouts_per_s", stream.inprocRolloutsPerS().median());
    out.put(
        "stream_over_inproc",
        stream.streamRolloutsPerS().median() / stream.inprocRolloutsPerS().median());
    out.put("weights_publish_to_apply_ms", stream.publishToApplyMs().median());
    putPhases(out, stream);
    out.put(
        "weights_apply_over_ppo_step",
        stream.publishToApplyMs().median() / figures.get("ppo_step_ms").median());
    var stored = putStoredWeights(out, quick ? 3 : 9, figures.get("ppo_step_ms").median());
    putRace(out);
    var streaming = out.putObject("stream_setup");
    streaming.put("model", "bench-small (random init: policy, reference and reward model)");
    streaming.put("broker", "embedded KRaft, started by the bench");
    streaming.put("actors", 1);
    streaming.put("rollouts_per_repeat", stream.rolloutsPerRepeat());
    streaming.put("prompts_per_batch", workload.promptsPerBatch());
    streaming.put("responses_per_prompt", workload.responsesPerPrompt());
    streaming.put("new_tokens", workload.newTokens());
    streaming.put("snapshot_bytes", stream.snapshotBytes());
    streaming.put(
        "publish_to_apply",
        "encode on the learner side -> WeightPublisher (signed, in a transaction, as the learner"
            + " publishes) -> subscriber assembles and verifies -> loaded at an idle actor (no wait"
            + " for an in-flight batch)");
    // What the launcher tuned for this process (the peer runs without it): see the rlhf script.
    var tuning = out.putObject("native_tuning");
    tuning.put(
        "mkl_vendor_shim", String.valueOf(System.getenv("LD_PRELOAD")).contains("mkl_vendor_shim"));
    tuning.put(
        "malloc_thresholds",
        String.valueOf(System.getenv("GLIBC_TUNABLES")).contains("glibc.malloc"));
    tuning.put("omp_wait_policy", System.getenv("OMP_WAIT_POLICY"));
    out.put("rounds", results.size());
    var spread = out.putObject("spread");
    for (var key : KEY_ORDER) {
      var f = figures.get(key);
      spread.putObject(key).put("min", f.min()).put("max", f.max()).put("runs", f.runs());
    }
    putSpread(spread, "stream_rollouts_per_s", stream.streamRolloutsPerS());
    putSpread(spread, "inproc_rollouts_per_s", stream.inprocRolloutsPerS());
    putSpread(spread, "weights_publish_to_apply_ms", stream.publishToApplyMs());
    putSpread(spread, "weights_store_publish_to_apply_ms", stored.publishToApplyMs());

    if (comparePeer) {
      if (!peers.isEmpty()) {
        // The peer's figures: per key the median over rounds; its identity from the first round.
        var peerOut = peers.get(0).deepCopy();
        if (peerOut instanceof ObjectNode peerObject) {
          for (var key : KEY_ORDER) {
            double[] values =
                peers.stream()
                    .filter(p -> p.has(key))
                    .mapToDouble(p -> p.get(key).asDouble())
                    .toArray();
            if (values.length > 0) {
              peerObject.put(key, median(values));
            }
          }
          out.set("peer", peerObject);
        }
        // Rates: ours ÷ peer; times: peer ÷ ours. Above 1 means we are faster. Median over rounds.
        var ratioNode = out.putObject("ratios");
        var ratioSpread = out.putObject("ratio_spread");
        ratios
            .ratios()
            .forEach(
                (key, f) -> {
                  ratioNode.put(key, f.median());
                  ratioSpread
                      .putObject(key)
                      .put("min", f.min())
                      .put("max", f.max())
                      .put("rounds", f.runs());
                });
      } else {
        out.put("peer_note", peerNote);
        System.err.println("bench: " + peerNote + "; printing our figures alone");
      }
    }
    System.out.println(json.writeValueAsString(out));
    return 0;
  }

  private String lastPeerNote;

  /**
   * The async keys: {@link AsyncRace} with one actor and the learner pinned to separate CPUs
   * (unpinned on a one-CPU machine), gold reward, a short run per mode. The workload is the demo's
   * with one PPO epoch per batch and max_lag 1, where sampling and training a batch cost about the
   * same (docs/EXPERIMENTS.md: with 4 epochs the learner's share bounds the speed-up at 1.3).
   */
  private void putRace(ObjectNode out) throws Exception {
    var dir = Files.createTempDirectory("rlhf-bench-race");
    var removal = TemporaryDirectories.removedAtExit(dir, "bench");
    try {
      var sft = raceSft;
      if (!Checkpoint.exists(sft)) {
        System.err.println(
            "bench: race: no SFT checkpoint at "
                + raceSft
                + " (run ./rlhf demo, or pass --race-sft); racing a random bench-small policy");
        sft = TinyModels.write(dir.resolve("random"), GptConfig.small()).resolve("sft");
      }
      boolean pinned = CpuSet.allowed().size() >= 2;
      var allowed = CpuSet.allowed().cpus();
      int first = allowed.nextSetBit(0);
      String actorCpus = pinned ? Integer.toString(first) : null;
      String learnerCpus = pinned ? Integer.toString(allowed.nextSetBit(first + 1)) : null;
      var config =
          ConfigLoader.with(
              PpoConfig.defaults(),
              "updates=" + (quick ? 24 : 40),
              "eval_every_updates=4",
              "eval_prompts=32",
              "value_warmup_updates=0",
              "epochs_per_batch=1",
              "max_lag=1");
      System.err.println(
          "bench: race: sync vs async, one actor on CPU "
              + (pinned ? actorCpus + ", the learner on CPU " + learnerCpus : "(unpinned)")
              + ", "
              + config.updates()
              + " updates each...");
      var log = new PrintWriter(new RaceProgress(), true);
      var race =
          AsyncRace.run(
              new AsyncRace.Settings(
                  sft,
                  config,
                  actorCpus,
                  learnerCpus,
                  dir.resolve("race"),
                  "2g",
                  Duration.ofMinutes(30)),
              log);
      putOrNull(out, "async_over_sync_time_to_reward", AsyncRace.asyncOverSyncTimeToReward(race));
      out.put("async_over_sync_wall", AsyncRace.asyncOverSyncWall(race));
      putOrNull(out, "learner_idle_fraction", race.async().learnerIdleFraction());
      putOrNull(out, "actor_idle_fraction", race.async().actorIdleFraction());
      out.put("policy_lag_p50", race.async().lagP50());
      out.put("policy_lag_p99", race.async().lagP99());
      var setup = raceFigures(race);
      setup.put("sft", sft.equals(raceSft) ? raceSft.toString() : "random bench-small");
      setup.put(
          "workload",
          "the demo's config with updates="
              + config.updates()
              + ", epochs_per_batch=1, max_lag=1 (sync: 0), value_warmup_updates=0, gold"
              + " reward; gold-vs-proxy every 4 updates on 32 prompts");
      out.set("race", setup);
    } finally {
      removal.run();
    }
  }

  /**
   * The race's figures for the bench JSON, without the directories each mode ran in: the bench
   * deletes them when it ends, so naming them would point at nothing.
   */
  static ObjectNode raceFigures(AsyncRace.Result race) {
    var figures = (ObjectNode) Json.MAPPER.valueToTree(race);
    for (var mode : List.of("sync", "async"))
      ((ObjectNode) figures.get(mode)).remove(List.of("learner_out", "gold_proxy_csv"));
    return figures;
  }

  private static void putOrNull(ObjectNode out, String key, Double value) {
    if (value == null) out.putNull(key);
    else out.put(key, value);
  }

  /** {@code --only weights}: the PPO step, publish-to-apply and its phases, nothing else. */
  private int weightsOnly() throws Exception {
    System.err.println("bench: the PPO step of the bench-small shape...");
    var ppo = new ModelBench(GptConfig.small(), ModelBench.Shape3.BENCH, quick ? 2 : 3).ppoStepMs();
    System.err.println("bench: weights: embedded Kafka broker, one actor, bench-small policy...");
    var stream =
        new StreamBench(GptConfig.small(), StreamBench.Workload.bench(1), 0, quick ? 3 : 9)
            .runWeights();
    var json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    ObjectNode out = json.createObjectNode();
    out.put("shape", "bench-small");
    out.put("ppo_step_ms", ppo.median());
    out.put("weights_publish_to_apply_ms", stream.publishToApplyMs().median());
    putPhases(out, stream);
    out.put("weights_apply_over_ppo_step", stream.publishToApplyMs().median() / ppo.median());
    var stored = putStoredWeights(out, quick ? 3 : 9, ppo.median());
    out.put("snapshot_bytes", stream.snapshotBytes());
    var spread = out.putObject("spread");
    putSpread(spread, "ppo_step_ms", ppo);
    putSpread(spread, "weights_publish_to_apply_ms", stream.publishToApplyMs());
    putSpread(spread, "weights_store_publish_to_apply_ms", stored.publishToApplyMs());
    System.out.println(json.writeValueAsString(out));
    return 0;
  }

  /**
   * The same publish-to-apply with the bytes in a weight store (a temporary directory on this
   * machine's disk) and a signed pointer on the topic: {@code weights_store_*}.
   */
  private static StreamBench.Result putStoredWeights(ObjectNode out, int repeats, double ppoStepMs)
      throws IOException {
    System.err.println(
        "bench: weights through a weight store: embedded Kafka broker, one actor, bench-small...");
    var dir = Files.createTempDirectory("rlhf-bench-store");
    var removal = TemporaryDirectories.removedAtExit(dir, "bench");
    try {
      var stored =
          new StreamBench(GptConfig.small(), StreamBench.Workload.bench(1), 0, repeats)
              .runWeights(dir);
      out.put("weights_store_publish_to_apply_ms", stored.publishToApplyMs().median());
      putPhases(out, "weights_store_phases_ms", stored);
      out.put("weights_store_apply_over_ppo_step", stored.publishToApplyMs().median() / ppoStepMs);
      return stored;
    } finally {
      removal.run();
    }
  }

  /** The phases of publish-to-apply: the three coarse keys, then the finer ones. */
  private static void putPhases(ObjectNode out, StreamBench.Result stream) {
    putPhases(out, "weights_phases_ms", stream);
  }

  private static void putPhases(ObjectNode out, String key, StreamBench.Result stream) {
    var phases = out.putObject(key);
    phases.put("encode", stream.phases().encodeMs());
    phases.put("publish_until_acked", stream.phases().publishMs());
    phases.put("actor_load", stream.phases().loadMs());
    stream.phases().finer().forEach(phases::put);
  }

  private static void putSpread(ObjectNode spread, String key, ModelBench.Figure f) {
    spread.putObject(key).put("min", f.min()).put("max", f.max()).put("runs", f.runs());
  }

  private JsonNode runPeer(Path script, int round, int roundCount, int repeats) {
    System.err.println(
        "bench: round " + (round + 1) + "/" + roundCount + ": running the PyTorch peer...");
    var peer = PeerRun.run(script, threads, repeats);
    lastPeerNote = peer.note();
    return peer.figures().orElse(null);
  }

  private static Map<String, Double> medians(ModelBench.Result result) {
    return Map.of(
        "gen_kv_tokens_per_s", result.genKvTokensPerS().median(),
        "gen_nocache_tokens_per_s", result.genNocacheTokensPerS().median(),
        "ppo_step_ms", result.ppoStepMs().median(),
        "ref_forward_ms", result.refForwardMs().median(),
        "gemm_gflops", result.gemmGflops().median());
  }

  private static Map<String, Double> peerFigures(JsonNode peer) {
    var out = new HashMap<String, Double>();
    for (var key : KEY_ORDER) {
      if (peer.has(key)) {
        out.put(key, peer.get(key).asDouble());
      }
    }
    return out;
  }

  /** One key over all rounds: the median of the round medians, the extremes of every run. */
  private static ModelBench.Figure pooled(List<ModelBench.Result> results, String key) {
    var figures = results.stream().map(r -> medians(r)).toList();
    double[] roundMedians = figures.stream().mapToDouble(m -> m.get(key)).toArray();
    var each = results.stream().map(r -> figure(r, key)).toList();
    return new ModelBench.Figure(
        median(roundMedians),
        each.stream().mapToDouble(ModelBench.Figure::min).min().orElseThrow(),
        each.stream().mapToDouble(ModelBench.Figure::max).max().orElseThrow(),
        each.stream().mapToInt(ModelBench.Figure::runs).sum());
  }

  private static ModelBench.Figure figure(ModelBench.Result result, String key) {
    return switch (key) {
      case "gen_kv_tokens_per_s" -> result.genKvTokensPerS();
      case "gen_nocache_tokens_per_s" -> result.genNocacheTokensPerS();
      case "ppo_step_ms" -> result.ppoStepMs();
      case "ref_forward_ms" -> result.refForwardMs();
      case "gemm_gflops" -> result.gemmGflops();
      default -> throw new IllegalArgumentException("unknown bench key " + key);
    };
  }

  private static double median(double[] values) {
    return ModelBench.Figure.of(values).median();
  }

  private static final String[] KEY_ORDER = {
    "gen_kv_tokens_per_s",
    "gen_nocache_tokens_per_s",
    "ppo_step_ms",
    "ref_forward_ms",
    "gemm_gflops"
  };

  /**
   * The race's transcript ("source | text" lines) reduced to progress on stderr: its own "race:"
   * notes (which mode starts, the time to equal reward) and the learner's update lines; the rest is
   * dropped.
   */
  private static final class RaceProgress extends Writer {
    private final StringBuilder line = new StringBuilder();

    @Override
    public void write(char[] buffer, int offset, int length) {
      for (int i = offset; i < offset + length; i++) {
        if (buffer[i] != '\n') {
          line.append(buffer[i]);
          continue;
        }
        var text = line.toString();
        line.setLength(0);
        if (text.startsWith("race | race: ")
            || text.matches("learner \\| \\S+: update \\d+/\\d+ .*"))
          System.err.println("bench: " + text.substring(text.indexOf(" | ") + 3));
      }
    }

    @Override
    public void flush() {
      System.err.flush();
    }

    @Override
    public void close() {}
  }

  /** The launcher passes the project root; from a work tree, the current directory is it. */
  private static Path projectRoot() {
    var home = System.getProperty("rlhf.home");
    return Path.of(home != null ? home : ".").toAbsolutePath().normalize();
  }
}
