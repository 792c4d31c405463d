package io.streamrlhf.infra.scale;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.List;
import org.junit.jupiter.api.Test;

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
  void theSynchronousLoopIsStrictlySerial() {
    // per update: train 0.5 + checkpoint 0.1, publish (0.2 for the learner; the actor holds the
    // version 0.3 after its start, 0.05 of it loading), then the actor's 1 s batch
    var c = new LoopCosts(16, 0, 0.5, 0.1, 0.2, 0.3, 0.05, 0, 8, 2, 8, 4, 0, 50);
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
}
