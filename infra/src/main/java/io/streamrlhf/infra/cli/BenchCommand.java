package io.streamrlhf.infra.cli;

import ai.djl.engine.Engine;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.streamrlhf.infra.bench.ModelBench;
import io.streamrlhf.infra.bench.PeerRun;
import io.streamrlhf.model.GptConfig;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code rlhf bench}: BENCHMARKS.md's measurements on the bench-small shape, printed as one JSON
 * object; with {@code --compare-peer}, the PyTorch peer's figures from the same invocation and
 * the ratios (peer ÷ ours for times, ours ÷ peer for rates).
 */
@Command(
    name = "bench",
    mixinStandardHelpOptions = true,
    showDefaultValues = true,
    description = {
      "Measures generation, the PPO update and the GEMM ceiling; prints one JSON object.",
      "Shape bench-small (d_model 256, 4 layers, 4 heads; batch 16 x (32 prompt + 64 new tokens)).",
      "Times are medians over repeated runs after a warm-up; 'spread' gives min and max."
    })
public final class BenchCommand implements Callable<Integer> {

  @Option(names = "--quick", description = "Fewer repetitions (a smoke run; figures are noisier).")
  boolean quick;

  @Option(names = "--compare-peer", description = "Also run bench/peer.py (PyTorch eager) and add 'peer' and 'ratios'.")
  boolean comparePeer;

  @Option(names = "--threads", description = "Intra-op threads for PyTorch, ours and the peer's.")
  int threads = 2;

  @Option(names = "--peer-script", description = "The peer script (default: bench/peer.py in the project).")
  Path peerScript;

  @Override
  public Integer call() throws Exception {
    if (threads < 1) {
      throw new UserError("--threads must be at least 1, got " + threads);
    }
    // Read by DJL when the engine loads (the native library must be loaded before any JniUtils call).
    System.setProperty("ai.djl.pytorch.num_threads", Integer.toString(threads));
    System.setProperty("ai.djl.pytorch.num_interop_threads", "1");
    Engine.getEngine("PyTorch");
    System.err.println("bench: measuring the bench-small shape (" + (quick ? "quick" : "full") + " run)...");
    var result = new ModelBench(GptConfig.small(), ModelBench.Shape3.BENCH, quick ? 2 : 5).run();

    var json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    ObjectNode out = json.createObjectNode();
    out.put("shape", "bench-small");
    out.put("params", result.parameters());
    out.put("threads", result.threads());
    var figures = Map.of(
        "gen_kv_tokens_per_s", result.genKvTokensPerS(),
        "gen_nocache_tokens_per_s", result.genNocacheTokensPerS(),
        "ppo_step_ms", result.ppoStepMs(),
        "ref_forward_ms", result.refForwardMs(),
        "gemm_gflops", result.gemmGflops());
    for (var key : KEY_ORDER) {
      out.put(key, figures.get(key).median());
    }
    out.put("ppo_step_mfu", result.ppoStepMfu());
    out.put("gen_kv_over_nocache", result.genKvTokensPerS().median() / result.genNocacheTokensPerS().median());
    // What the launcher tuned for this process (the peer runs without it): see the rlhf script.
    var tuning = out.putObject("native_tuning");
    tuning.put("mkl_vendor_shim", String.valueOf(System.getenv("LD_PRELOAD")).contains("mkl_vendor_shim"));
    tuning.put("malloc_thresholds", String.valueOf(System.getenv("GLIBC_TUNABLES")).contains("glibc.malloc"));
    tuning.put("omp_wait_policy", System.getenv("OMP_WAIT_POLICY"));
    // The streaming figures come with the Kafka loop (issue 6); say so rather than print a guess.
    out.putNull("stream_rollouts_per_s");
    out.putNull("inproc_rollouts_per_s");
    out.putNull("weights_publish_to_apply_ms");
    var spread = out.putObject("spread");
    for (var key : KEY_ORDER) {
      var f = figures.get(key);
      spread.putObject(key).put("min", f.min()).put("max", f.max()).put("runs", f.runs());
    }

    if (comparePeer) {
      System.err.println("bench: running the PyTorch peer in the same invocation...");
      var script = peerScript != null ? peerScript : projectRoot().resolve("bench/peer.py");
      var peer = PeerRun.run(script, threads, quick);
      if (peer.figures().isPresent()) {
        var p = peer.figures().get();
        out.set("peer", p);
        var ratios = out.putObject("ratios");
        // Rates: ours ÷ peer; times: peer ÷ ours. Above 1 means we are faster.
        for (var key : new String[] {"gen_kv_tokens_per_s", "gen_nocache_tokens_per_s", "gemm_gflops"}) {
          if (p.has(key)) {
            ratios.put(key, figures.get(key).median() / p.get(key).asDouble());
          }
        }
        for (var key : new String[] {"ppo_step_ms", "ref_forward_ms"}) {
          if (p.has(key)) {
            ratios.put(key, p.get(key).asDouble() / figures.get(key).median());
          }
        }
      } else {
        out.put("peer_note", peer.note());
        System.err.println("bench: " + peer.note() + "; printing our figures alone");
      }
    }
    System.out.println(json.writeValueAsString(out));
    return 0;
  }

  private static final String[] KEY_ORDER = {
    "gen_kv_tokens_per_s", "gen_nocache_tokens_per_s", "ppo_step_ms", "ref_forward_ms", "gemm_gflops"
  };

  /** The launcher passes the project root; from a work tree, the current directory is it. */
  private static Path projectRoot() {
    var home = System.getProperty("rlhf.home");
    return Path.of(home != null ? home : ".").toAbsolutePath().normalize();
  }
}
