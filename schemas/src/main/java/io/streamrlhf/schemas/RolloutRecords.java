package io.streamrlhf.schemas;

import java.util.ArrayList;
import java.util.List;

/**
 * The array fields of a {@link Rollout} (tokens, log-probs) as the model and learner hold them.
 * Avro's generated record carries its {@code int} and {@code float} arrays as boxed lists; the
 * actor that writes rollouts and the learner that reads them convert through here, both ways.
 */
public final class RolloutRecords {
  private RolloutRecords() {}

  /** A record's token ids, e.g. {@link Rollout#getResponseTokens}, as the model's array. */
  public static int[] ints(List<Integer> values) {
    return values.stream().mapToInt(Integer::intValue).toArray();
  }

  /** A record's log-probs, e.g. {@link Rollout#getRefLogProbs}, as the model's array. */
  public static float[] floats(List<Float> values) {
    var out = new float[values.size()];
    for (int i = 0; i < out.length; i++) out[i] = values.get(i);
    return out;
  }

  /**
   * A record's per-token policy versions, {@link Rollout#getTokenVersions}: every token by {@code
   * policyVersion} when the record has none (written before the field existed).
   */
  public static long[] tokenVersions(List<Long> values, int tokens, long policyVersion) {
    var out = new long[tokens];
    if (values.isEmpty()) {
      java.util.Arrays.fill(out, policyVersion);
      return out;
    }
    for (int i = 0; i < out.length; i++) out[i] = values.get(i);
    return out;
  }

  /** Per-token versions for {@link Rollout.Builder#setTokenVersions}. */
  public static List<Long> longList(long[] values) {
    var out = new ArrayList<Long>(values.length);
    for (long v : values) out.add(v);
    return out;
  }

  /** Token ids for a record's field, e.g. {@link Rollout.Builder#setResponseTokens}. */
  public static List<Integer> intList(int[] values) {
    var out = new ArrayList<Integer>(values.length);
    for (int v : values) out.add(v);
    return out;
  }

  /** Log-probs for a record's field, e.g. {@link Rollout.Builder#setRefLogProbs}. */
  public static List<Float> floatList(float[] values) {
    var out = new ArrayList<Float>(values.length);
    for (float v : values) out.add(v);
    return out;
  }
}
