package io.streamrlhf.infra.bench;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Ratios against the peer from rounds that alternate ours and the peer's measurements, so load that
 * comes and goes on a shared machine falls on both sides: each round gives one ratio per key (peer
 * ÷ ours for times, ours ÷ peer for rates; above 1, we are faster), and the reported ratio is the
 * median over rounds, with the spread.
 */
public final class PeerRatios {
  /** Keys where a larger figure is better. */
  public static final List<String> RATES =
      List.of("gen_kv_tokens_per_s", "gen_nocache_tokens_per_s", "gemm_gflops");

  /** Keys where a smaller figure is better. */
  public static final List<String> TIMES = List.of("ppo_step_ms", "ref_forward_ms");

  private final Map<String, List<Double>> perRound = new LinkedHashMap<>();

  /** Adds one round's figures of both sides (a key missing on either side is skipped). */
  public void addRound(Map<String, Double> ours, Map<String, Double> peer) {
    for (var key : RATES) {
      ratio(key, ours.get(key), peer.get(key));
    }
    for (var key : TIMES) {
      ratio(key, peer.get(key), ours.get(key));
    }
  }

  private void ratio(String key, Double numerator, Double denominator) {
    if (numerator != null && denominator != null && denominator > 0) {
      perRound.computeIfAbsent(key, k -> new ArrayList<>()).add(numerator / denominator);
    }
  }

  /** Per key: the median ratio over rounds and its spread. */
  public Map<String, ModelBench.Figure> ratios() {
    var out = new LinkedHashMap<String, ModelBench.Figure>();
    perRound.forEach(
        (key, values) ->
            out.put(
                key,
                ModelBench.Figure.of(values.stream().mapToDouble(Double::doubleValue).toArray())));
    return out;
  }
}
