package io.streamrlhf.infra.scale;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import org.apache.kafka.common.utils.Utils;

/**
 * A discrete-event simulation of the streaming loop with the code's rules, from measured costs
 * ({@link LoopCosts}): one learner and N actors.
 *
 * <p>The rules, as {@code KafkaRollouts}, {@code PromptFeed}, {@code BatchAssembly} and {@code
 * RolloutActor} have them:
 *
 * <ul>
 *   <li>The learner checkpoints and publishes v0, then prompt batches 0..max_lag. Update u waits
 *       until every rollout of prompt batch u is in, trains (update, checkpoint), publishes version
 *       u+1 (encode, publish until acked: the learner waits), then publishes batch u+1+max_lag
 *       asking for version ≥ (batch − max_lag).
 *   <li>The broker, when it has costs ({@link LoopCosts#brokerModeled}), is work on the actors'
 *       cores: after the learner's own part of a publish (publish_s, on its core) the broker takes
 *       the version in (broker_ingest_s of CPU), and the learner's publish ends when that is done;
 *       then every actor's copy (broker_serve_s of CPU each: serving, receiving, assembling) runs,
 *       and the version has reached an actor when its copy is done. The ingest and each copy in
 *       progress are runnables beside the working actors. Without broker costs a version reaches
 *       every actor publish_to_apply − actor_load after its publish started, and the publish takes
 *       publish_s.
 *   <li>A prompt goes to partition murmur2(its id) mod partitions, as Kafka's partitioner puts a
 *       keyed record; the actors' group shares the partitions as the range assignor does
 *       (contiguous, the first ones one more), so actors beyond the partition count get nothing.
 *   <li>An actor, between batches, first applies the newest version that reached it (load on its
 *       own core), then samples up to max_prompts_per_actor_batch queued prompts that its version
 *       may answer (lowest asked version first); K rollouts each, sent when the batch ends; a
 *       version arriving mid-batch waits for the batch's end. A weight version reaches every actor
 *       publish_to_apply − actor_load after its publish started.
 *   <li>A rollout's lag is its batch − the version that sampled it; one above max_lag is not used
 *       and its prompt is asked again (which the flow control above never makes happen).
 *   <li>Actors on {@code actorCores} shared cores split them evenly among those working and the
 *       broker's ingest and copies in progress (processor sharing: each runnable gets cores ÷
 *       runnables, at most one core); with 0 each actor has a core of its own and the broker's work
 *       shares one more.
 * </ul>
 *
 * The figures are those of {@code stream-stats.json} over the whole run: rollouts applied ÷ seconds
 * from the learner's start to its last publish, and the learner's idle fraction is its time waiting
 * for rollouts over the same span.
 */
public final class LoopSimulation {
  /** What the loop did in the simulation. */
  public record Result(
      int actors,
      int activeActors,
      double seconds,
      long rollouts,
      double rolloutsPerS,
      double updatesPerS,
      double learnerIdleFraction,
      double actorIdleFraction,
      long lagP50,
      long lagP99,
      long stale,
      double[] publishedAt,
      double[] waited,
      double[] publishTook,
      List<Apply> applies) {

    /**
     * Rollouts/s and the learner's idle fraction from version {@code from}'s publish to the last
     * one's: the steady state, without the start.
     */
    public Window window(int from) {
      return Window.of(publishedAt, waited, from, rollouts / (publishedAt.length - 1));
    }

    /**
     * The learner's mean publish (start to acked, ingest included) of versions after {@code from}.
     */
    public double meanPublishS(int from) {
      double sum = 0;
      int n = 0;
      for (int v = from + 1; v < publishTook.length; v++, n++) sum += publishTook[v];
      return n == 0 ? Double.NaN : sum / n;
    }

    /** The median publish-to-apply (publish start to loaded) of versions after {@code from}. */
    public double medianApplyS(int from) {
      return median(
          applies.stream().filter(a -> a.version() > from).mapToDouble(Apply::delayS).toArray());
    }
  }

  /** An actor loaded {@code version}, {@code delayS} after its publish started. */
  public record Apply(String actor, long version, double delayS) {}

  static double median(double[] values) {
    if (values.length == 0) return Double.NaN;
    var sorted = values.clone();
    Arrays.sort(sorted);
    int n = sorted.length;
    return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
  }

  /** Figures over a span of updates. */
  public record Window(double rolloutsPerS, double learnerIdleFraction) {
    /**
     * @param publishedAt per version, when its publish ended (the learner starts waiting)
     * @param waited per batch, how long the learner waited for it
     */
    static Window of(double[] publishedAt, double[] waited, int from, long rolloutsPerBatch) {
      int last = publishedAt.length - 1;
      if (from < 0 || from >= last)
        throw new IllegalArgumentException("no updates after version " + from);
      double span = publishedAt[last] - publishedAt[from];
      double idle = 0;
      for (int b = from; b < last; b++) idle += waited[b];
      return new Window((last - from) * rolloutsPerBatch / span, idle / span);
    }
  }

  private static final double EPS = 1e-12;

  private record Queued(long batch, int index, long minVersion) {}

  private static final class Actor {
    final String name;
    final List<Queued> queue = new ArrayList<>();
    long version = -1;
    long arrived = -1; // newest version that reached it
    double remaining; // core-seconds of the work in hand; working when > 0 or batch != null
    boolean loading;
    List<Queued> batch;
    long batchVersion;
    double busy;

    Actor(String name) {
      this.name = name;
    }

    boolean working() {
      return loading || batch != null;
    }
  }

  /** One actor's copy of a version, on its way through the broker. */
  private static final class Copy {
    final Actor actor;
    final long version;
    double remaining; // CPU-seconds

    Copy(Actor actor, long version, double remaining) {
      this.actor = actor;
      this.version = version;
      this.remaining = remaining;
    }
  }

  private record Arrival(double at, long version) {}

  private final LoopCosts costs;
  private final Actor[] actors;
  private final int[] owner;
  private final String run;
  private final List<Arrival> arrivals = new ArrayList<>();
  private final int[][] received; // per batch in flight: rollouts received per prompt
  private final long[] lags;
  private int applied;
  private long stale;
  private double now;
  private long updates; // updates done = the learner's version
  private boolean learnerBusy;
  private double learnerFree;
  private double learnerIdle;
  private double waitingSince = -1;
  private long published; // prompt batches published
  private final double[] publishedAt;
  private final double[] waited;
  private final double[] publishStartedAt;
  private final double[] publishTook;
  private final List<Apply> applies = new ArrayList<>();
  private final boolean broker;
  private boolean ingesting;
  private double ingestRemaining; // CPU-seconds
  private final List<Copy> copies = new ArrayList<>();

  private final boolean roundRobin;

  private LoopSimulation(LoopCosts costs, int actorCount, long seed, boolean roundRobin) {
    this.roundRobin = roundRobin;
    if (actorCount < 1)
      throw new IllegalArgumentException("actors must be >= 1, got " + actorCount);
    this.costs = costs;
    this.actors = new Actor[actorCount];
    for (int a = 0; a < actorCount; a++) actors[a] = new Actor("actor-" + a);
    this.owner = rangeAssignment(costs.promptPartitions(), actorCount);
    this.run = "r" + Long.toHexString(0x18c0000000L + Math.floorMod(seed, 0x1000000L));
    this.received = new int[costs.updates()][costs.promptsPerBatch()];
    this.lags = new long[costs.updates() * costs.rolloutsPerBatch()];
    this.publishedAt = new double[costs.updates() + 1];
    this.waited = new double[costs.updates()];
    this.publishStartedAt = new double[costs.updates() + 1];
    this.publishTook = new double[costs.updates() + 1];
    this.broker = costs.brokerModeled();
  }

  /** Simulates {@code costs.updates()} updates with {@code actors} actors. */
  public static Result run(LoopCosts costs, int actors, long seed) {
    return new LoopSimulation(costs, actors, seed, false).run();
  }

  /**
   * As {@link #run}, but prompt g of the run (batch × prompts_per_batch + index) goes to partition
   * g mod partitions: the even spread hashing only approaches, for cases computable by hand.
   */
  static Result runRoundRobin(LoopCosts costs, int actors) {
    return new LoopSimulation(costs, actors, 0, true).run();
  }

  /** The partition → actor map of Kafka's range assignor for one topic (−1: no actor). */
  static int[] rangeAssignment(int partitions, int actors) {
    var owner = new int[partitions];
    Arrays.fill(owner, -1);
    int each = partitions / actors;
    int extra = partitions % actors;
    int p = 0;
    for (int a = 0; a < actors && p < partitions; a++) {
      int n = each + (a < extra ? 1 : 0);
      for (int i = 0; i < n; i++) owner[p++] = a;
    }
    return owner;
  }

  private Result run() {
    // v0: checkpoint, publish, then the first max_lag + 1 batches
    startPublish(costs.learnerCheckpointS());
    while (updates < costs.updates() || learnerBusy) {
      double next = nextEvent();
      if (Double.isInfinite(next))
        throw new IllegalStateException(
            "the loop stalls at update " + updates + ", t = " + now + " s");
      advance(next);
      settle();
    }
    long active = Arrays.stream(owner).filter(o -> o >= 0).distinct().count();
    double actorBusy = Arrays.stream(actors).mapToDouble(a -> a.busy).sum();
    var sorted = Arrays.copyOf(lags, applied);
    Arrays.sort(sorted);
    return new Result(
        actors.length,
        (int) active,
        now,
        applied,
        applied / now,
        updates / now,
        learnerIdle / now,
        1 - actorBusy / (now * actors.length),
        percentile(sorted, 0.5),
        percentile(sorted, 0.99),
        stale,
        publishedAt,
        waited,
        publishTook,
        List.copyOf(applies));
  }

  /**
   * The learner spends {@code before} then publishes the next version (its own part, then the
   * broker's ingest when the broker has costs) and, when that is done, prompt batches.
   */
  private void startPublish(double before) {
    long version = updates;
    double publishStart = now + before;
    publishStartedAt[(int) version] = publishStart;
    if (!broker)
      arrivals.add(
          new Arrival(publishStart + costs.publishToApplyS() - costs.actorLoadS(), version));
    learnerBusy = true;
    learnerFree = publishStart + costs.publishS();
  }

  private double nextEvent() {
    double next = Double.POSITIVE_INFINITY;
    if (learnerBusy && !ingesting) next = learnerFree;
    for (var a : arrivals) next = Math.min(next, a.at());
    double rate = actorRate();
    for (var a : actors) {
      if (a.working()) next = Math.min(next, now + a.remaining / rate);
    }
    double brokerRate = brokerRate();
    if (ingesting) next = Math.min(next, now + ingestRemaining / brokerRate);
    for (var c : copies) next = Math.min(next, now + c.remaining / brokerRate);
    return next;
  }

  /** The broker's runnables: its ingest and every copy in progress. */
  private int brokerRunnables() {
    return (ingesting ? 1 : 0) + copies.size();
  }

  /** Each working actor's share of a core. */
  private double actorRate() {
    if (costs.actorCores() == 0) return 1;
    long runnables = Arrays.stream(actors).filter(Actor::working).count() + brokerRunnables();
    return runnables == 0 ? 1 : Math.min(1.0, costs.actorCores() / (double) runnables);
  }

  /** Each of the broker's runnables' share of a core: the actors' cores, or one of its own. */
  private double brokerRate() {
    if (costs.actorCores() > 0) return actorRate();
    int runnables = brokerRunnables();
    return runnables == 0 ? 1 : 1.0 / runnables;
  }

  private void advance(double to) {
    double dt = to - now;
    double rate = actorRate();
    for (var a : actors) {
      if (a.working()) {
        a.remaining -= dt * rate;
        a.busy += dt * rate;
      }
    }
    double brokerRate = brokerRate();
    if (ingesting) ingestRemaining -= dt * brokerRate;
    for (var c : copies) c.remaining -= dt * brokerRate;
    now = to;
    // Work whose end the clock cannot tell from now is done: late in a long run a remainder above
    // EPS can still be below now's resolution, and the next event would be now again, forever.
    for (var a : actors) {
      if (a.working() && now + a.remaining / rate <= now) a.remaining = 0;
    }
    if (ingesting && now + ingestRemaining / brokerRate <= now) ingestRemaining = 0;
    for (var c : copies) {
      if (now + c.remaining / brokerRate <= now) c.remaining = 0;
    }
  }

  /** The learner's publish is acked: it publishes prompts, the actors' copies start. */
  private void publishEnds() {
    learnerBusy = false;
    publishedAt[(int) updates] = now;
    publishTook[(int) updates] = now - publishStartedAt[(int) updates];
    publishPrompts();
    waitingSince = now;
    if (!broker) return;
    for (var a : actors) {
      if (costs.brokerServeS() > 0) copies.add(new Copy(a, updates, costs.brokerServeS()));
      else a.arrived = Math.max(a.arrived, updates);
    }
  }

  /** Everything that happens at {@link #now}, until nothing more does. */
  private void settle() {
    if (learnerBusy && !ingesting && learnerFree <= now + EPS) {
      if (broker && costs.brokerIngestS() > 0) {
        ingesting = true;
        ingestRemaining = costs.brokerIngestS();
      } else {
        publishEnds();
      }
    }
    if (ingesting && ingestRemaining <= EPS) {
      ingesting = false;
      publishEnds();
    }
    for (var it = copies.iterator(); it.hasNext(); ) {
      var copy = it.next();
      if (copy.remaining <= EPS) {
        copy.actor.arrived = Math.max(copy.actor.arrived, copy.version);
        it.remove();
      }
    }
    for (var it = arrivals.iterator(); it.hasNext(); ) {
      var arrival = it.next();
      if (arrival.at() <= now + EPS) {
        for (var a : actors) a.arrived = Math.max(a.arrived, arrival.version());
        it.remove();
      }
    }
    for (var a : actors) {
      if (a.working() && a.remaining <= EPS) finish(a);
    }
    boolean changed = true;
    while (changed) {
      changed = false;
      if (!learnerBusy && updates < costs.updates() && batchComplete(updates)) {
        train();
        changed = true;
      }
      for (var a : actors) {
        if (!a.working() && start(a)) changed = true;
        if (a.working() && a.remaining <= EPS) {
          finish(a);
          changed = true;
        }
      }
    }
  }

  private void publishPrompts() {
    while (published <= updates + costs.maxLag() && published < costs.updates()) {
      long batch = published++;
      long min = Math.max(0, batch - costs.maxLag());
      for (int i = 0; i < costs.promptsPerBatch(); i++) enqueue(new Queued(batch, i, min));
    }
  }

  private void enqueue(Queued prompt) {
    int partition;
    if (roundRobin) {
      partition =
          (int) ((prompt.batch() * costs.promptsPerBatch() + prompt.index()) % owner.length);
    } else {
      var key =
          (run + ":" + prompt.batch() + ":" + prompt.index()).getBytes(StandardCharsets.UTF_8);
      partition = Utils.toPositive(Utils.murmur2(key)) % owner.length;
    }
    actors[owner[partition]].queue.add(prompt);
  }

  private boolean batchComplete(long batch) {
    for (int n : received[(int) batch]) if (n < costs.responsesPerPrompt()) return false;
    return true;
  }

  private void train() {
    learnerIdle += now - waitingSince;
    waited[(int) updates] = now - waitingSince;
    updates++;
    startPublish(costs.learnerUpdateS() + costs.learnerCheckpointS());
  }

  /** Starts an idle actor's next piece of work, if it has one. */
  private boolean start(Actor a) {
    if (a.arrived > a.version) {
      a.loading = true;
      a.remaining = costs.actorLoadS();
      return true;
    }
    if (a.version < 0) return false;
    var eligible =
        a.queue.stream()
            .filter(q -> q.minVersion() <= a.version)
            .sorted(Comparator.comparingLong(Queued::minVersion))
            .limit(costs.maxPromptsPerActorBatch())
            .toList();
    if (eligible.isEmpty()) return false;
    a.queue.removeAll(eligible);
    a.batch = eligible;
    a.batchVersion = a.version;
    a.remaining = costs.actorBatchS(eligible.size() * costs.responsesPerPrompt());
    return true;
  }

  private void finish(Actor a) {
    a.remaining = 0;
    if (a.loading) {
      a.loading = false;
      a.version = a.arrived;
      applies.add(new Apply(a.name, a.version, now - publishStartedAt[(int) a.version]));
      return;
    }
    for (var q : a.batch) {
      if (q.batch() - a.batchVersion > costs.maxLag()) {
        stale += costs.responsesPerPrompt();
        enqueue(new Queued(q.batch(), q.index(), Math.max(0, q.batch() - costs.maxLag())));
        continue;
      }
      for (int k = 0; k < costs.responsesPerPrompt(); k++) {
        lags[applied++] = Math.max(0, q.batch() - a.batchVersion);
      }
      received[(int) q.batch()][q.index()] = costs.responsesPerPrompt();
    }
    a.batch = null;
  }

  private static long percentile(long[] sorted, double q) {
    if (sorted.length == 0) return 0;
    int rank = (int) Math.ceil(q * sorted.length);
    return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
  }
}
