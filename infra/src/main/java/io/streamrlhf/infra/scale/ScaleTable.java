package io.streamrlhf.infra.scale;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;

/**
 * The scale model's table: for each actor count, the loop asynchronously (the costs' max_lag) and
 * synchronously (max_lag 0), and the actor count that saturates one learner.
 */
public final class ScaleTable {
  /** One actor count, both modes. */
  public record Row(LoopSimulation.Result async, LoopSimulation.Result sync) {}

  /**
   * The fewest actors that saturate the learner: its steady-state idle fraction (after the first
   * tenth of the updates) at most {@code idleBound}; null when no count of {@code rows} does.
   */
  public static Integer saturation(List<Row> rows, double idleBound) {
    for (var row : rows) {
      var r = row.async();
      int from = Math.max(1, (r.publishedAt().length - 1) / 10);
      if (r.window(from).learnerIdleFraction() <= idleBound) return r.actors();
    }
    return null;
  }

  /** Simulates every count of {@code actors}, with one seed for all. */
  public static List<Row> simulate(LoopCosts costs, List<Integer> actors, long seed) {
    return simulate(costs, actors, seed, done -> {});
  }

  /**
   * As {@link #simulate(LoopCosts, List, long)}, telling {@code progress} how many counts are done
   * after each (a row's cost grows with the square of its actors).
   */
  public static List<Row> simulate(
      LoopCosts costs, List<Integer> actors, long seed, java.util.function.IntConsumer progress) {
    var rows = new ArrayList<Row>();
    for (int n : actors) {
      rows.add(
          new Row(
              LoopSimulation.run(costs, n, seed),
              LoopSimulation.run(costs.withMaxLag(0), n, seed)));
      progress.accept(rows.size());
    }
    return rows;
  }

  /** The learner-bound ceiling: one batch per update, the learner never waiting. */
  public static double ceilingRolloutsPerS(LoopCosts costs) {
    return costs.rolloutsPerBatch() / costs.learnerBusyS();
  }

  public static void print(LoopCosts costs, List<Row> rows, double idleBound, PrintWriter out) {
    out.printf(
        "%6s %6s | %11s %9s %8s %8s %5s %5s | %11s %8s | %10s%n",
        "actors",
        "active",
        "rollouts/s",
        "updates/s",
        "l_idle",
        "a_idle",
        "lag50",
        "lag99",
        "sync roll/s",
        "s_l_idle",
        "async/sync");
    for (var row : rows) {
      var a = row.async();
      var s = row.sync();
      out.printf(
          "%6d %6d | %11.1f %9.3f %8.3f %8.3f %5d %5d | %11.1f %8.3f | %10.2f%n",
          a.actors(),
          a.activeActors(),
          a.rolloutsPerS(),
          a.updatesPerS(),
          a.learnerIdleFraction(),
          a.actorIdleFraction(),
          a.lagP50(),
          a.lagP99(),
          s.rolloutsPerS(),
          s.learnerIdleFraction(),
          a.rolloutsPerS() / s.rolloutsPerS());
    }
    out.printf(
        "learner-bound ceiling: %.1f rollouts/s (%d rollouts per update ÷ %.3f s of update,"
            + " checkpoint and publish)%n",
        ceilingRolloutsPerS(costs), costs.rolloutsPerBatch(), costs.learnerBusyS());
    var saturating = saturation(rows, idleBound);
    if (saturating != null) {
      // the fewest of the counts simulated: the count before it in the list says how close that is
      Integer fewer = null;
      for (var row : rows) {
        if (row.async().actors() == saturating) break;
        fewer = row.async().actors();
      }
      String bound =
          fewer != null
              ? "; " + fewer + " did not"
              : saturating > 1 ? "; no fewer were simulated (--actors)" : "";
      out.printf(
          "saturation: %d actor(s) keep one learner busy (learner idle <= %.0f%% after the first"
              + " tenth of the updates)%s%n",
          saturating, 100 * idleBound, bound);
    } else {
      int inFlight = (costs.maxLag() + 1) * costs.promptsPerBatch();
      out.printf(
          "saturation: none of these actor counts keeps the learner busy (idle <= %.0f%%); at most"
              + " %d actors get prompts (%d prompt partitions) and %d prompts are in flight"
              + " ((max_lag + 1) x prompts_per_batch)%n",
          100 * idleBound, costs.promptPartitions(), costs.promptPartitions(), inFlight);
    }
  }

  public static void printWeightPath(WeightPath path, double[] flops, PrintWriter out) {
    out.printf(
        "weight path: %.2f M params, %.1f MB snapshot; publish-to-apply %.0f ms (%.0f ms fixed +"
            + " bytes at %.0f MB/s), PPO step %.0f ms on %d tokens (%.0f GFLOP/s achieved)%n",
        path.params() / 1e6,
        path.snapshotBytes() / 1e6,
        1000 * path.publishToApplyS(),
        1000 * path.fixedS(),
        path.pathBytesPerS() / 1e6,
        1000 * path.ppoStepS(),
        path.tokensPerUpdate(),
        path.measuredFlops() / 1e9);
    out.printf(
        "  one snapshot can carry at most %.0f M params (%s reassembles a version into one Java"
            + " array)%n",
        path.assemblerLimitParams() / 1e6, "WeightAssembler");
    out.printf(
        "  both grow with p: apply/step tends to a constant, above 1 for a learner faster than %.0f"
            + " GFLOP/s on %d tokens per update%n",
        path.flopsAtParity() / 1e9, path.tokensPerUpdate());
    out.printf(
        "  %16s %14s %22s %26s%n",
        "learner GFLOP/s", "apply/step", "apply > step where", "apply/step for large p");
    for (double f : flops) {
      var at = f > 0 ? path.withLearnerFlops(f) : path;
      double crossing = at.crossingParams();
      double limit = at.limitRatio();
      String where;
      if (Double.isNaN(crossing)) where = limit >= 1 ? "every size" : "no size";
      else if (limit >= 1) where = String.format("above %.1f M params", crossing / 1e6);
      else where = String.format("below %.1f M params", crossing / 1e6);
      out.printf(
          "  %16.0f %14.2f %22s %26.2f%n",
          at.flops() / 1e9,
          at.publishToApplyS(at.params()) / at.ppoStepS(at.params()),
          where,
          limit);
    }
  }

  private ScaleTable() {}
}
