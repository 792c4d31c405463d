package io.streamrlhf.infra.chaos;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamrlhf.schemas.Topics;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * The fast scenarios of {@code rlhf chaos}, each against real processes (broker, actor, learners as
 * child JVMs), and the broker outage cut to 5 s: a scenario's figures pass only when the loop kept
 * its guarantees under its faults, so these fail when a guarantee breaks. The long ones (three
 * learner kills, an actor kill, a 60-second broker outage, the 30-minute soak) run with {@code
 * ./rlhf chaos --all}.
 */
class FastScenariosTest {

  @Test
  void poisonOnEveryConsumedTopicNeitherStopsTheLoopNorIsApplied() {
    var figures = new PoisonRecords().run(ChaosFixture.chaos());
    assertPassed(figures);
    assertThat(figures.faults().keySet())
        .as("poison of both classes on every consumed topic")
        .anyMatch(k -> k.startsWith(Topics.PROMPTS + " invalid"))
        .anyMatch(k -> k.startsWith(Topics.PROMPTS + " undecodable"))
        .anyMatch(k -> k.startsWith(Topics.ROLLOUTS + " invalid"))
        .anyMatch(k -> k.startsWith(Topics.ROLLOUTS + " undecodable"))
        .anyMatch(k -> k.startsWith(Topics.POLICY_WEIGHTS + " invalid"))
        .anyMatch(k -> k.startsWith(Topics.POLICY_WEIGHTS + " undecodable"));
    assertThat(figures.weightsEqual())
        .as("no poison applied: the uninterrupted run's weights")
        .isTrue();
  }

  @Test
  void mangledAndForgedWeightChunksNeverReachTheActor() {
    var figures = new WeightMangling().run(ChaosFixture.chaos());
    assertPassed(figures);
    assertThat(figures.faults().keySet()).containsAll(ChunkInterposer.FORGED);
    assertThat(figures.weightsEqual()).isTrue();
  }

  @Test
  void aSecondLearnerOnTheRunFailsFastOnItsOutputOrIsFencedFromAnother() {
    var figures = new SecondLearner().run(ChaosFixture.chaos());
    assertPassed(figures);
    assertThat(figures.faults())
        .containsKeys(
            "second learner with --resume on the same --out",
            "second learner of the same run from another directory");
  }

  @Test
  void aLearnerKilledAtARandomPointResumesToTheUninterruptedRunsWeights() {
    var figures = new LearnerKills(1).run(ChaosFixture.chaos());
    assertPassed(figures);
    assertThat(figures.faults()).containsEntry("learner SIGKILL at a random point", 1L);
    assertThat(figures.weightsEqual()).isTrue();
  }

  @Test
  void aShortBrokerOutageIsRiddenOutByTheLoopItself() {
    var figures =
        new BrokerOutage().run(ChaosFixture.chaos(s -> s.withOutage(Duration.ofSeconds(5))));
    assertPassed(figures);
    assertThat(figures.recoverySeconds()).as("recovered after the broker was back").isNotNull();
    assertThat(figures.weightsEqual()).isTrue();
  }

  /**
   * A scenario cut short by its time bound fails, and says the bound ended it: the wait that had
   * only the bound's last moments says "within 0 s", which alone reads as a bug of chaos.
   */
  @Test
  void aScenarioWhoseBoundRunsOutNamesTheBound() {
    var figures = new ActorKill().run(ChaosFixture.chaos(s -> s.withBound(Duration.ofSeconds(1))));
    var table = ChaosFixture.table(figures);
    assertThat(figures.passed()).as(table).isFalse();
    assertThat(figures.failures())
        .as(table)
        .anyMatch(f -> f.endsWith("(the scenario's time bound, 1 s, ran out: see --bound)"));
  }

  /** Passed, and with it every prompt trained on exactly once and nothing applied twice. */
  private static void assertPassed(Figures figures) {
    var table = ChaosFixture.table(figures);
    assertThat(figures.failures()).as(table).isEmpty();
    assertThat(figures.passed()).as(table).isTrue();
    assertThat(figures.prompts().exactlyOnce()).as(table).isTrue();
    assertThat(figures.prompts().rolloutsDuplicated()).as(table).isZero();
    assertThat(figures.unplannedRestarts()).as(table).isZero();
  }
}
