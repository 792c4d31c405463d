package io.streamrlhf.infra.stream;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamrlhf.learner.config.ConfigLoader;
import io.streamrlhf.learner.config.OnlineRewardConfig;
import io.streamrlhf.learner.stream.RewardTrainer;
import io.streamrlhf.model.GptConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A reward trainer behind its labelers: it catches up in larger steps (catch_up_factor), and a run
 * whose labelers stopped has it take in what is left (finish) instead of ending with rankings that
 * were acknowledged and never trained on.
 */
class RewardTrainerBacklogTest {
  private static final Duration WAIT = Duration.ofSeconds(120);
  private static final GptConfig SHAPE = TinyRun.SHAPE;

  @Test
  void aBacklogIsTakenInStepsUpToCatchUpFactorTimesTheStep(@TempDir Path dir) throws Exception {
    var sft = TinyRun.sft(dir.resolve("sft"), SHAPE);
    var backlog = new SimulatedComparisons(5).next(64);

    // every version is one step: the comparisons each version saw are the step sizes
    var catchingUp = stepSizes(dir.resolve("catch-up"), sft, backlog, "catch_up_factor=4");
    var fixed = stepSizes(dir.resolve("fixed"), sft, backlog, "catch_up_factor=1");

    assertThat(fixed).as("fixed steps").hasSize(16).containsOnly(4L);
    assertThat(catchingUp.stream().mapToLong(Long::longValue).sum()).isEqualTo(64);
    assertThat(catchingUp).allMatch(size -> size >= 1 && size <= 16);
    assertThat(catchingUp.size()).as("steps of more than 4 fresh").isLessThan(16);
  }

  @Test
  void finishTakesInWhatIsLeftWhereStopLeavesIt(@TempDir Path dir) throws Exception {
    var sft = TinyRun.sft(dir.resolve("sft"), SHAPE);
    // fewer than a step (comparisons_per_step=4), and a trickle would wait an hour: only finish
    // takes them in, and stop, however late it comes, finds them untaken
    var left = new SimulatedComparisons(7).next(3);

    var stopped = runUntilV0Then(dir.resolve("stopped"), sft, left, RewardTrainer::stop);
    assertThat(stopped.seen()).isZero();
    assertThat(stopped.untaken()).isEqualTo(3);

    var watch = new Watch();
    var finished = runUntilV0Then(dir.resolve("finished"), sft, left, RewardTrainer::finish, watch);
    assertThat(finished.seen()).isEqualTo(3);
    assertThat(finished.trained()).isEqualTo(3);
    assertThat(finished.version()).as("the step it took, published").isEqualTo(1);
    assertThat(finished.untaken()).isZero();
    assertThat(watch.lines())
        .anyMatch(
            l ->
                l.contains("taking in what is left before it stops")
                    && l.contains("(SIGTERM stops it after its current step)"));
  }

  private static OnlineRewardConfig config(String... more) {
    var settings =
        new ArrayList<>(
            List.of(
                "seed=5",
                "comparisons_per_step=4",
                "held_out_share=0",
                "publish_every_steps=1",
                "fresh_wait_seconds=3600",
                "likelihood_term=false",
                "statistics_samples=4",
                "warmup_steps=0"));
    settings.addAll(List.of(more));
    return ConfigLoader.with(OnlineRewardConfig.defaults(), settings.toArray(String[]::new));
  }

  /** Per version after v0, the comparisons its step took in from a backlog of {@code backlog}. */
  private static List<Long> stepSizes(
      Path out, Path sft, List<io.streamrlhf.schemas.Comparison> backlog, String factor)
      throws Exception {
    var bootstrap = LoopBroker.fresh();
    SimulatedComparisons.produce(bootstrap, backlog);
    var seen = new ArrayList<Long>();
    var intake =
        new RewardTrainer.Intake() {
          @Override
          public void taken(long createdAtMillis) {}

          @Override
          public void published(long version, long seenSoFar) {
            seen.add(seenSoFar);
          }
        };
    var trainer =
        new RewardTrainer(
            config(factor),
            RewardTrainer.Settings.of(bootstrap)
                .withLimits(backlog.size(), Long.MAX_VALUE)
                .withIntake(intake),
            sft,
            null,
            out,
            false,
            new Watch().writer());
    var executor = Executors.newSingleThreadExecutor();
    try {
      executor.submit(trainer::run).get(WAIT.toSeconds(), TimeUnit.SECONDS);
    } finally {
      trainer.stop();
      executor.shutdownNow();
    }
    var sizes = new ArrayList<Long>();
    for (int i = 1; i < seen.size(); i++) sizes.add(seen.get(i) - seen.get(i - 1));
    return sizes;
  }

  private static RewardTrainer.Summary runUntilV0Then(
      Path out,
      Path sft,
      List<io.streamrlhf.schemas.Comparison> left,
      java.util.function.Consumer<RewardTrainer> then)
      throws Exception {
    return runUntilV0Then(out, sft, left, then, new Watch());
  }

  private static RewardTrainer.Summary runUntilV0Then(
      Path out,
      Path sft,
      List<io.streamrlhf.schemas.Comparison> left,
      java.util.function.Consumer<RewardTrainer> then,
      Watch watch)
      throws Exception {
    var bootstrap = LoopBroker.fresh();
    SimulatedComparisons.produce(bootstrap, left);
    var trainer =
        new RewardTrainer(
            config(), RewardTrainer.Settings.of(bootstrap), sft, null, out, false, watch.writer());
    var executor = Executors.newSingleThreadExecutor();
    try {
      var running = executor.submit(trainer::run);
      trainer.firstPublished().get(WAIT.toSeconds(), TimeUnit.SECONDS);
      then.accept(trainer);
      return running.get(WAIT.toSeconds(), TimeUnit.SECONDS);
    } finally {
      trainer.stop();
      executor.shutdownNow();
    }
  }
}
