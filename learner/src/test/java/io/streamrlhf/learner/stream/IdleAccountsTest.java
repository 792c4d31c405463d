package io.streamrlhf.learner.stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.streamrlhf.model.checkpoint.Json;
import org.junit.jupiter.api.Test;

/** The idle fractions of stream-stats.json, on hand-computed timelines. */
class IdleAccountsTest {
  private static final long S = 1_000_000_000L;

  @Test
  void theLearnerIsIdleForItsWaitsAfterTheFirstBatchWithinFirstStartToLastEnd() {
    var idle = new LearnerIdle(0, 0);
    assertThat(idle.fraction()).isNull();
    idle.waited(0, 10 * S); // start-up: not counted; the window opens at 10 s
    idle.updateEnded(30 * S);
    idle.waited(30 * S, 50 * S); // 20 s idle
    idle.updateEnded(70 * S);
    idle.waited(70 * S, 75 * S); // 5 s idle
    idle.updateEnded(100 * S);
    // 25 s idle of the 90 s from 10 s to 100 s
    assertThat(idle.fraction()).isCloseTo(25.0 / 90, within(1e-12));
  }

  @Test
  void aRestartedLearnerCountsOnFromTheSecondsItsCheckpointHeld() {
    var resumed = new LearnerIdle(25, 90);
    resumed.waited(0, 40 * S); // the new process's start-up
    resumed.updateEnded(50 * S);
    resumed.waited(50 * S, 60 * S);
    resumed.updateEnded(70 * S);
    assertThat(resumed.fraction()).isCloseTo((25.0 + 10) / (90 + 30), within(1e-12));
  }

  @Test
  void anActorIsIdleBetweenItsBatchesOverFirstStartToLastEndPooledOverActors() {
    var activity = new ActorActivity();
    assertThat(activity.idleFraction()).isNull();
    // actor a: batches [0, 10] and [30, 40] ms, two rollouts each, one out of order
    activity.rollout("a", 30, 39);
    activity.rollout("a", 0, 9);
    activity.rollout("a", 0, 10);
    activity.rollout("a", 30, 40);
    // window 40 ms, busy 20 ms
    assertThat(activity.idleFraction()).isCloseTo(0.5, within(1e-12));
    // actor b never waits: [100, 160] then [160, 200]
    activity.rollout("b", 100, 160);
    activity.rollout("b", 160, 200);
    // pooled: idle 20 of 40 + 100 ms
    assertThat(activity.idleFraction()).isCloseTo(20.0 / 140, within(1e-12));
  }

  @Test
  void aBatchsLateRolloutIsNotCountedAgainAfterItsBatchWasFoldedIn() throws Exception {
    var activity = new ActorActivity();
    for (int b = 0; b <= ActorActivity.OPEN_BATCHES; b++)
      activity.rollout("a", 10L * b, 10L * b + 5);
    activity.rollout("a", 0, 5); // the first batch, folded in already
    long batches = ActorActivity.OPEN_BATCHES + 1;
    long window = 10 * (batches - 1) + 5;
    assertThat(activity.idleFraction()).isCloseTo(1 - 5.0 * batches / window, within(1e-12));

    var json = Json.MAPPER.valueToTree(activity.saved());
    var resumed =
        ActorActivity.resume(
            Json.MAPPER.convertValue(
                json,
                Json.MAPPER
                    .getTypeFactory()
                    .constructMapType(
                        java.util.TreeMap.class, String.class, ActorActivity.Saved.class)));
    resumed.rollout("a", 10L * (batches - 1), 10L * (batches - 1) + 5); // read again: not counted
    assertThat(resumed.idleFraction()).isEqualTo(activity.idleFraction());
  }

  @Test
  void theFractionsReachTheSummaryAndSurviveARestart() throws Exception {
    var first = new StreamStats();
    first.waitedForRollouts(0, S);
    first.rolloutRead("a", 0, 10);
    first.rolloutRead("a", 20, 30);
    first.updateEnded(3 * S);
    first.waitedForRollouts(3 * S, 4 * S);
    first.updateEnded(5 * S);
    var saved = Json.MAPPER.valueToTree(first.saved(0));
    var second = StreamStats.resume(Json.MAPPER.treeToValue(saved, StreamStats.Saved.class));
    var summary = second.summary(0);
    assertThat(summary.learnerIdleFraction()).isCloseTo(0.25, within(1e-12));
    assertThat(summary.actorIdleFraction()).isCloseTo(1.0 / 3, within(1e-12));
  }
}
