package io.streamrlhf.actors.gateway;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * A ranking of the K answers of one label request, as a {@link io.streamrlhf.schemas.Comparison}
 * carries it: {@code ranks[i]} is the rank of answer i, 0 is best, equal ranks are ties. The reward
 * trainer turns it into InstructGPT's C(K,2) pairs and skips tied ones, so only the order of the
 * values matters; the gateway accepts any K values in 0..K-1 and stores them as given.
 *
 * <p>The labeling tools say the same thing in their own shapes (an order, buckets of ties, 1-based
 * ranks); the factories here turn each into this one form, answers numbered as in the request.
 */
final class Ranks {
  private Ranks() {}

  /**
   * Checks a ranking sent as JSON: K whole numbers in 0..K-1.
   *
   * @throws Rejection (400) saying what is wrong with it
   */
  static List<Integer> check(List<?> ranks, int k) {
    if (ranks == null) throw Rejection.badRequest("ranks missing: give one rank per answer");
    if (ranks.size() != k)
      throw Rejection.badRequest(
          "ranks has " + ranks.size() + " entries; the request has " + k + " answers");
    var checked = new ArrayList<Integer>(k);
    for (int i = 0; i < k; i++) {
      var r = ranks.get(i);
      if (!(r instanceof Integer || r instanceof Long))
        // as sent: "0" is a string, not the number 0
        throw Rejection.badRequest(
            "ranks[" + i + "] is not a whole number: " + io.vertx.core.json.Json.encode(r));
      long v = ((Number) r).longValue();
      if (v < 0 || v >= k)
        throw Rejection.badRequest(
            "ranks[" + i + "] = " + v + " is outside 0.." + (k - 1) + " (0 is best)");
      checked.add((int) v);
    }
    return List.copyOf(checked);
  }

  /**
   * Ranks from tie groups, best group first (Label Studio's ranker buckets, or a plain order as
   * groups of one): every answer 0..K-1 must appear in exactly one group.
   */
  static List<Integer> fromGroups(List<List<Integer>> groups, int k) {
    var ranks = new Integer[k];
    int rank = 0;
    for (var group : groups) {
      if (group.isEmpty()) continue;
      for (int answer : group) {
        if (answer < 0 || answer >= k)
          throw Rejection.badRequest("ranked answer " + answer + " is not one of the " + k);
        if (ranks[answer] != null)
          throw Rejection.badRequest("answer " + answer + " is ranked twice");
        ranks[answer] = rank;
      }
      rank++;
    }
    return complete(ranks);
  }

  /**
   * Ranks from any numbers where smaller is better and equal is a tie (Argilla's 1-based ranks):
   * renumbered densely from 0, so 1,1,3 becomes 0,0,1.
   */
  static List<Integer> fromOrdinals(Map<Integer, Integer> ordinalByAnswer, int k) {
    var distinct = new TreeSet<>(ordinalByAnswer.values());
    var dense = new ArrayList<>(distinct);
    var ranks = new Integer[k];
    for (var e : ordinalByAnswer.entrySet()) {
      int answer = e.getKey();
      if (answer < 0 || answer >= k)
        throw Rejection.badRequest("ranked answer " + answer + " is not one of the " + k);
      ranks[answer] = dense.indexOf(e.getValue());
    }
    return complete(ranks);
  }

  private static List<Integer> complete(Integer[] ranks) {
    for (int i = 0; i < ranks.length; i++) {
      if (ranks[i] == null)
        throw Rejection.badRequest(
            "answer " + i + " is not ranked; rank all " + ranks.length + " answers");
    }
    return List.of(Arrays.copyOf(ranks, ranks.length));
  }
}
