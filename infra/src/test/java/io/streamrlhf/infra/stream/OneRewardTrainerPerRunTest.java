package io.streamrlhf.infra.stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamrlhf.learner.config.ConfigLoader;
import io.streamrlhf.learner.config.OnlineRewardConfig;
import io.streamrlhf.learner.stream.RewardTrainer;
import io.streamrlhf.learner.train.InputError;
import io.streamrlhf.model.checkpoint.Checkpoint;
import io.streamrlhf.schemas.Comparison;
import io.streamrlhf.schemas.Topics;
import io.streamrlhf.schemas.WeightChunk;
import io.streamrlhf.schemas.signing.WeightSigner;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One reward trainer per cluster, as one learner: a trainer of the run resumed elsewhere (from a
 * copy of its directory) fences the older one, which stops before it publishes another version; a
 * resume of another run's directory, or of this run's with another signing key, is refused before
 * it fences anyone.
 */
class OneRewardTrainerPerRunTest {
  private static final Duration WAIT = Duration.ofSeconds(120);
  private static final double HELD_OUT_SHARE = 0.1;

  @Test
  void aResumedTrainerFencesTheOlderOneAndAnotherRunsDirectoryIsRefused(@TempDir Path dir)
      throws Exception {
    var bootstrap = LoopBroker.fresh();
    var sft = TinyRun.sft(dir.resolve("sft"), TinyRun.SHAPE);
    // another run, on topics since wiped: its directory checkpoints v0 of a run of its own
    var strangerOut = dir.resolve("stranger");
    new RewardTrainer(
            OnlineRewardConfig.defaults(),
            RewardTrainer.Settings.of(bootstrap).withLimits(Long.MAX_VALUE, 0),
            sft,
            null,
            strangerOut,
            false,
            new Watch().writer())
        .run();
    bootstrap = LoopBroker.fresh();

    var config =
        ConfigLoader.with(
            OnlineRewardConfig.defaults(),
            "comparisons_per_step=8",
            "catch_up_factor=1", // steps of 8, however many wait
            "held_out_share=" + HELD_OUT_SHARE,
            "publish_every_steps=2",
            // no step on fewer than 8 fresh comparisons: where each trainer stands is exact
            "fresh_wait_seconds=600",
            "statistics_samples=8",
            "likelihood_term=false",
            "log_every_steps=1");
    var stream = new SimulatedComparisons(3);
    var first = freshComparisons(stream, 16); // steps 1 and 2: v2
    var second = freshComparisons(stream, 16); // steps 3 and 4: v4
    var third = freshComparisons(stream, 16); // steps 5 and 6: v6
    long total = first.size() + second.size() + third.size();
    var settings = RewardTrainer.Settings.of(bootstrap).withLimits(total, Long.MAX_VALUE);

    var zombieOut = dir.resolve("zombie");
    var zombieLog = new Watch();
    var zombie =
        new RewardTrainer(config, settings, sft, null, zombieOut, false, zombieLog.writer());
    var executor = Executors.newFixedThreadPool(3);
    try {
      SimulatedComparisons.produce(bootstrap, first);
      var zombieRun = executor.submit(zombie::run);
      zombieLog.await("reward-trainer: published RM v2 ", WAIT);

      // another run's directory is refused, and so is this run's with another key or a damaged
      // copy; none fences the trainer at work
      var stranger =
          new RewardTrainer(config, settings, sft, null, strangerOut, true, new Watch().writer());
      var refusal = executor.submit(stranger::run);
      assertThatThrownBy(() -> refusal.get(WAIT.toSeconds(), TimeUnit.SECONDS))
          .isInstanceOf(ExecutionException.class)
          .cause()
          .isInstanceOf(InputError.class)
          .hasMessageContaining("its newest reward model, v2, is run rt")
          .hasMessageContaining("another run's reward trainer publishes there");
      var otherKey =
          new RewardTrainer(
              config,
              settings.withSigner(WeightSigner.generate()),
              sft,
              null,
              TinyRun.copy(zombieOut, dir.resolve("other-key")),
              true,
              new Watch().writer());
      var keyRefusal = executor.submit(otherKey::run);
      assertThatThrownBy(() -> keyRefusal.get(WAIT.toSeconds(), TimeUnit.SECONDS))
          .isInstanceOf(ExecutionException.class)
          .cause()
          .isInstanceOf(InputError.class)
          .hasMessageContaining("signed its reward models with key")
          .hasMessageContaining("resume with the same --signing-key");
      var damaged = TinyRun.copy(zombieOut, dir.resolve("damaged"));
      Files.delete(damaged.resolve("applied-comparisons.txt"));
      var damagedRun =
          executor.submit(
              new RewardTrainer(config, settings, sft, null, damaged, true, new Watch().writer())
                  ::run);
      assertThatThrownBy(() -> damagedRun.get(WAIT.toSeconds(), TimeUnit.SECONDS))
          .isInstanceOf(ExecutionException.class)
          .cause()
          .isInstanceOf(Checkpoint.CorruptCheckpointException.class) // exit 2: restore a copy
          .hasMessageContaining("exactly-once cannot be checked");
      SimulatedComparisons.produce(bootstrap, second);
      zombieLog.await("reward-trainer: RM v4 after", WAIT); // not fenced: it publishes on

      // the same run resumed elsewhere, from a copy of its checkpoint
      var takeoverOut = TinyRun.copy(zombieOut, dir.resolve("takeover"));
      var takeoverLog = new Watch();
      var takeover =
          new RewardTrainer(config, settings, sft, null, takeoverOut, true, takeoverLog.writer());
      var takeoverRun = executor.submit(takeover::run);
      takeoverLog.await("reward-trainer: published RM v4 ", WAIT);

      SimulatedComparisons.produce(bootstrap, third);
      assertThat(takeoverRun.get(WAIT.toSeconds(), TimeUnit.SECONDS).seen()).isEqualTo(total);
      assertThatThrownBy(() -> zombieRun.get(WAIT.toSeconds(), TimeUnit.SECONDS))
          .isInstanceOf(ExecutionException.class)
          .cause()
          .isInstanceOf(InputError.class)
          .hasMessageStartingWith("fenced: another reward trainer started on this cluster")
          .hasMessageContaining("rlhf-reward-trainer")
          .hasMessageContaining("stops without publishing RM v6 (resuming its --out");
      assertThat(zombieLog.has("reward-trainer: published RM v6 ")).isFalse();
      assertThat(takeoverLog.has("reward-trainer: published RM v6 ")).isTrue();
    } finally {
      zombie.stop();
      executor.shutdownNow();
    }

    // what actors can read (read_committed): the zombie's v0, v2 and v4, the takeover's v4 again
    // and its v6; the zombie's v6 never
    try (var weights = new TopicTail<>(bootstrap, Topics.REWARD_WEIGHTS, WeightChunk.class)) {
      var versions =
          weights.toEnd(WAIT).stream()
              .filter(c -> c.getChunkIndex() == 0)
              .map(WeightChunk::getVersion)
              .toList();
      assertThat(versions).containsExactly(0L, 2L, 4L, 4L, 6L);
    }
  }

  /** The next comparisons of {@code stream} up to and including the n-th one trained on. */
  private static List<Comparison> freshComparisons(SimulatedComparisons stream, int n) {
    var comparisons = new ArrayList<Comparison>();
    int fresh = 0;
    while (fresh < n) {
      var c = stream.next(1).get(0);
      comparisons.add(c);
      if (SimulatedComparisons.fresh(c, HELD_OUT_SHARE)) fresh++;
    }
    return comparisons;
  }
}
