package io.streamrlhf.infra.scale;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The scale model against cases computable by hand. */
class LoopSimulationTest {
  /** Costs with nothing but an actor rate and an update time; weights apply at once. */
  private static LoopCosts costs(
      double actorRolloutsPerS,
      double updateS,
      int maxLag,
      int promptsPerBatch,
      int responsesPerPrompt,
      int maxPromptsPerActorBatch,
      int partitions,
      int updates) {
    return new LoopCosts(
        actorRolloutsPerS,
        0,
        updateS,
        0,
        0,
        0,
        0,
        0,
        0,
        maxLag,
        promptsPerBatch,
        responsesPerPrompt,
        maxPromptsPerActorBatch,
        partitions,
        0,
        updates);
  }

  @Test
  void anActorSlowerThanTheLearnerIdlesItByTheirRatio() {
    // one batch of 8 × 2 rollouts takes the actor 1 s, an update 0.5 s: the loop runs at the
    // actor's
    // rate and the learner waits 1 − 0.5/1 of the time
    var c = costs(16, 0.5, 4, 8, 2, 8, 4, 200);
    var r = LoopSimulation.run(c, 1, 1);
    assertThat(r.rolloutsPerS()).isCloseTo(16.0, within(0.1));
    assertThat(r.learnerIdleFraction()).isCloseTo(0.5, within(0.01));
    assertThat(r.actorIdleFraction()).isLessThan(0.01);
    // the actor starts batch b when it finished b − 1, by when the learner had published b − 1
    assertThat(r.lagP50()).isEqualTo(1);
    assertThat(r.stale()).isZero();
  }

  @Test
  void aLearnerSlowerThanTheActorsLagsThemByMaxLag() {
    // the actor takes 0.25 s a batch, the learner 1 s: it never waits after the first batch, and
    // every batch is sampled as soon as it is published, by the version max_lag before it
    var c = costs(64, 1.0, 3, 8, 2, 8, 4, 100);
    var r = LoopSimulation.run(c, 1, 1);
    assertThat(r.updatesPerS()).isCloseTo(1.0, within(0.01));
    assertThat(r.learnerIdleFraction()).isCloseTo(0.25 / 100.25, within(1e-3));
    assertThat(r.lagP50()).isEqualTo(3);
    assertThat(r.lagP99()).isEqualTo(3);
  }

  @Test
  void aBatchPaysTheOverheadOnceSoActorsSharingACorePayItPerActor() {
    // sync, update 0.5 s, weights at once; an actor batch of r rows costs 0.1 + r ÷ 80 CPU-s, the
    // actors share one core. One actor samples the 16 rows as one batch (0.1 + 0.2 s); two take 8
    // rows each (round robin over 4 partitions), 0.1 + 0.1 each, sharing the core: 0.4 s
    var c = new LoopCosts(80, 0.1, 0.5, 0, 0, 0, 0, 0, 0, 0, 8, 2, 8, 4, 1, 30);
    assertThat(LoopSimulation.runRoundRobin(c, 1).window(5).rolloutsPerS())
        .isCloseTo(16 / (0.5 + 0.3), within(1e-9));
    assertThat(LoopSimulation.runRoundRobin(c, 2).window(5).rolloutsPerS())
        .isCloseTo(16 / (0.5 + 0.4), within(1e-9));
    // without an overhead (the same 16-row batch time) the second actor changes nothing
    var none = c.withActor(16 / 0.3, 0);
    assertThat(LoopSimulation.runRoundRobin(none, 2).window(5).rolloutsPerS())
        .isCloseTo(16 / (0.5 + 0.3), within(1e-9));
  }

  @Test
  void theSynchronousLoopIsStrictlySerial() {
    // per update: train 0.5 + checkpoint 0.1, publish (0.2 for the learner; the actor holds the
    // version 0.3 after its start, 0.05 of it loading), then the actor's 1 s batch
    var c = new LoopCosts(16, 0, 0.5, 0.1, 0.2, 0.3, 0.05, 0, 0, 0, 8, 2, 8, 4, 0, 50);
    var r = LoopSimulation.run(c, 1, 1);
    // v0's checkpoint and publish start at 0.1; each update adds 0.3 + 1 + 0.6; the last publish
    // ends 0.2 after it starts
    assertThat(r.seconds()).isCloseTo(0.1 + 50 * 1.9 + 0.2, within(1e-9));
    assertThat(r.learnerIdleFraction() * r.seconds()).isCloseTo(50 * 1.1, within(1e-9));
    assertThat(r.lagP99()).isZero();
    // the steady state: 16 rollouts and 1.1 s of waiting every 1.9 s
    assertThat(r.window(5).rolloutsPerS()).isCloseTo(16 / 1.9, within(1e-9));
    assertThat(r.window(5).learnerIdleFraction()).isCloseTo(1.1 / 1.9, within(1e-9));
  }

  @Test
  void theSaturatingActorCountFollowsThePartitions() {
    // 4 prompts of one rollout per batch on 4 partitions, one prompt per actor batch at 0.75 s, an
    // update 1 s: 3 actors would do on average, but the range assignor gives the first of 3 actors
    // 2 partitions (1.5 s a batch), so it takes 4
    var c = costs(4.0 / 3, 1.0, 4, 4, 1, 1, 4, 200);
    var rows =
        List.of(1, 2, 3, 4, 5).stream()
            .map(n -> new ScaleTable.Row(LoopSimulation.runRoundRobin(c, n), null))
            .toList();
    assertThat(ScaleTable.saturation(rows, 0.05)).isEqualTo(4);
    assertThat(rows.get(1).async().learnerIdleFraction()).isCloseTo(1 - 1 / 1.5, within(0.01));
    assertThat(rows.get(2).async().learnerIdleFraction()).isCloseTo(1 - 1 / 1.5, within(0.01));
    assertThat(rows.get(3).async().rolloutsPerS()).isCloseTo(4.0, within(0.05));
    // a fifth actor gets no partition and changes nothing
    assertThat(rows.get(4).async().activeActors()).isEqualTo(4);
    assertThat(rows.get(4).async().rolloutsPerS()).isEqualTo(rows.get(3).async().rolloutsPerS());
  }

  @Test
  void actorsSharingACoreSplitIt() {
    // two actors on one core are one actor of the same total rate, bar the batch split
    var shared = costs(16, 0.1, 4, 8, 2, 8, 4, 100).withActorCores(1);
    var r = LoopSimulation.runRoundRobin(shared, 2);
    assertThat(r.rolloutsPerS()).isCloseTo(16.0, within(0.2));
  }

  /**
   * With no broker costs the model is the one before the broker was one: these figures are what it
   * printed then (bench-small, 60 updates, seed 7; actor cores, max_lag, actors, seconds, learner
   * idle, actor idle, lag p50, lag p99).
   */
  private static final double[][] BEFORE_THE_BROKER = {
    {0, 4, 1, 23.119535597189690, 0.28056945910186130, 0.018214033678565110, 1, 1},
    {0, 4, 2, 17.145114519906300, 0.029875246345634935, 0.33175029042282167, 4, 4},
    {0, 4, 3, 17.045707259953140, 0.024217666868127150, 0.54767818774071650, 4, 4},
    {0, 4, 6, 17.045707259953140, 0.024217666868127150, 0.76750318780597730, 4, 4},
    {0, 0, 1, 41.401335597189680, 0.59825209114439760, 0.45174629586755555, 0, 0},
    {0, 0, 2, 33.110937470725936, 0.49766145960967050, 0.65397482905084260, 0, 0},
    {0, 0, 3, 31.658946838407420, 0.47462244764814680, 0.75646235996361270, 0, 0},
    {0, 0, 6, 28.661288758782120, 0.41967368808901020, 0.86172734126209690, 0, 0},
    {1, 4, 1, 23.119535597189690, 0.28056945910186130, 0.018214033678565110, 1, 1},
    {1, 4, 2, 23.502213114754090, 0.29228367052980910, 0.51510873708141480, 3, 4},
    {1, 4, 3, 23.819089929742360, 0.30169876141108070, 0.67776496827953140, 4, 4},
    {1, 4, 6, 24.705571916471480, 0.32675511191422360, 0.84123935228892280, 4, 4},
    {1, 0, 1, 41.401335597189680, 0.59825209114439760, 0.45174629586755555, 0, 0},
    {1, 0, 2, 41.617335597189710, 0.60033722098434550, 0.72470083357838690, 0, 0},
    {1, 0, 3, 41.833335597189760, 0.60240081832926280, 0.81569375023536980, 0, 0},
    {1, 0, 6, 42.481335597189700, 0.60846569990844870, 0.90671026360588850, 0, 0},
  };

  @Test
  void withoutBrokerCostsThePredictionsAreThoseOfBefore() {
    var base = LoopCosts.benchSmall().withUpdates(60);
    assertThat(base.brokerModeled()).isFalse();
    for (var row : BEFORE_THE_BROKER) {
      var c = base.withActorCores((int) row[0]).withMaxLag((int) row[1]);
      var r = LoopSimulation.run(c, (int) row[2], 7);
      var what = "cores " + (int) row[0] + ", max_lag " + (int) row[1] + ", " + (int) row[2];
      assertThat(r.seconds()).as(what).isCloseTo(row[3], within(1e-9));
      assertThat(r.learnerIdleFraction()).as(what).isCloseTo(row[4], within(1e-12));
      assertThat(r.actorIdleFraction()).as(what).isCloseTo(row[5], within(1e-12));
      assertThat(r.lagP50()).as(what).isEqualTo((long) row[6]);
      assertThat(r.lagP99()).as(what).isEqualTo((long) row[7]);
      // the publish takes publish_s, a version is loaded publish_to_apply after its publish started
      assertThat(r.meanPublishS(5)).as(what).isCloseTo(c.publishS(), within(1e-9));
    }
  }

  @Test
  void theBrokerSharesTheActorsCoreInTheSynchronousLoop() {
    // one core for 2 actors and the broker; per update: train 0.5 + checkpoint 0.1, the learner's
    // part of the publish 0.2, then the broker's ingest 0.1 alone on the core (the actors wait for
    // prompts), then both copies (0.05 each, sharing: 0.1), both loads (0.05 each: 0.1), and both
    // actors' 4 prompts × 2 (0.5 s each at 16/s, sharing: 1.0)
    var c = new LoopCosts(16, 0, 0.5, 0.1, 0.2, 0.3, 0.05, 0.1, 0.05, 0, 8, 2, 8, 4, 1, 50);
    var r = LoopSimulation.runRoundRobin(c, 2);
    double cycle = 0.6 + 0.2 + 0.1 + 0.1 + 0.1 + 1.0;
    assertThat(r.seconds()).isCloseTo(0.1 + 50 * cycle + 0.3, within(1e-9));
    assertThat(r.learnerIdleFraction() * r.seconds()).isCloseTo(50 * 1.2, within(1e-9));
    assertThat(r.meanPublishS(5)).isCloseTo(0.3, within(1e-9));
    // publish start → loaded: own part, ingest, copies, loads
    assertThat(r.medianApplyS(5)).isCloseTo(0.2 + 0.1 + 0.1 + 0.1, within(1e-9));
    // a third actor adds its copy and its load to every update (2 prompts × 2 of 8, uneven: the
    // busiest actor still has 4 prompts, but the core's work per update is the same 1.0 s)
    var three = LoopSimulation.runRoundRobin(c, 3);
    assertThat(three.seconds()).isCloseTo(0.1 + 50 * (cycle + 0.05 + 0.05) + 0.3, within(1e-9));
  }

  @Test
  void theBrokerOnTheActorsCoreSlowsThePublishAndTheActorsAsActorsAreAdded() {
    // actor-bound: the learner needs 0.01 s an update, the actors' core 1 s per 16 rollouts plus,
    // with the broker, 0.1 s of ingest and 0.05 s a copy per actor for every version
    var free = new LoopCosts(16, 0, 0.01, 0, 0, 0, 0, 0, 0, 4, 8, 2, 8, 4, 1, 120);
    var broker = free.withBroker(0.1, 0.05);
    double lastPublish = 0;
    for (int n : new int[] {1, 2, 4}) { // each with as many partitions

      var without = LoopSimulation.runRoundRobin(free, n).window(20);
      var with = LoopSimulation.runRoundRobin(broker, n);
      // the broker free, the core does 16 rollouts/s whoever shares it
      assertThat(without.rolloutsPerS()).as("free, %d actor(s)", n).isCloseTo(16, within(0.35));
      // with it, every version costs the core 0.1 + n × 0.05 more
      assertThat(with.window(20).rolloutsPerS())
          .as("broker, %d actor(s)", n)
          .isCloseTo(16 / (1 + 0.1 + 0.05 * n), within(0.35));
      // the ingest shares the core with the sampling actors: the learner's publish grows with them
      double publish = with.meanPublishS(20);
      assertThat(publish).as("publish, %d actor(s)", n).isGreaterThan(lastPublish + 0.1);
      lastPublish = publish;
    }
  }

  @Test
  void rangeAssignmentGivesTheFirstActorsOneMore() {
    assertThat(LoopSimulation.rangeAssignment(4, 3)).containsExactly(0, 0, 1, 2);
    assertThat(LoopSimulation.rangeAssignment(4, 6)).containsExactly(0, 1, 2, 3);
  }

  @Test
  void theWeightPathCrossesWhereItsFixedPartStopsMattering() {
    // 100 ms fixed, 1 s per 100 M params (400 MB at 400 MB/s), the step 2 s per 100 M params:
    // publish = 0.1 + p/1e8, step = 2p/1e8, equal at p = 1e7
    var path = new WeightPath(100_000_000, 400_000_000, 1.1, 0.1, 2.0, 1000, 0);
    assertThat(path.crossingParams()).isCloseTo(1e7, within(1.0));
    assertThat(path.limitRatio()).isCloseTo(0.5, within(1e-9));
    // a learner twice as fast: the step equals the bytes' time at every size, 4× faster: above
    assertThat(path.withLearnerFlops(2 * path.measuredFlops()).crossingParams()).isNaN();
    assertThat(path.withLearnerFlops(4 * path.measuredFlops()).limitRatio())
        .isCloseTo(2.0, within(1e-9));
    assertThat(path.flopsAtParity()).isCloseTo(2 * path.measuredFlops(), within(1.0));
  }

  /**
   * Late in a long run the clock's resolution exceeds the simulation's tolerance: an actor's last
   * sliver of work could no longer move it, and the loop spun forever (200 s updates, 200 of them:
   * the learner-bound loop, one batch every update plus its publish).
   */
  @Test
  // a guard against the spin, not a speed target: a spinning thread is not interruptible
  @Timeout(value = 1, unit = TimeUnit.MINUTES, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
  void aLongRunEndsWhenItsClockOutgrowsTheTolerance() {
    var b = LoopCosts.benchSmall();
    var slow =
        new LoopCosts(
            b.actorRolloutsPerS(),
            b.actorBatchOverheadS(),
            200,
            b.learnerCheckpointS(),
            b.publishS(),
            b.publishToApplyS(),
            b.actorLoadS(),
            b.brokerIngestS(),
            b.brokerServeS(),
            b.maxLag(),
            b.promptsPerBatch(),
            b.responsesPerPrompt(),
            b.maxPromptsPerActorBatch(),
            b.promptPartitions(),
            b.actorCores(),
            b.updates());
    var r = LoopSimulation.run(slow, 1, 7);
    assertThat(r.updatesPerS() * slow.learnerBusyS()).isCloseTo(1, within(0.01));
    assertThat(r.learnerIdleFraction()).isLessThan(0.01);
  }

  @Test
  void anInfiniteCostIsRefusedWithItsName() {
    var b = LoopCosts.benchSmall();
    assertThatThrownBy(
            () -> costs(b.actorRolloutsPerS(), Double.POSITIVE_INFINITY, 4, 8, 2, 8, 4, 10))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("learner_update_s must be finite and > 0, got Infinity");
    assertThatThrownBy(() -> costs(Double.POSITIVE_INFINITY, 1, 4, 8, 2, 8, 4, 10))
        .hasMessage("actor_rollouts_per_s must be finite and > 0, got Infinity");
  }
}
