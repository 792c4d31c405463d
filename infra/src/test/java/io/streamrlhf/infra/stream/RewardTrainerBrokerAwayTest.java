package io.streamrlhf.infra.stream;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamrlhf.infra.kafka.EmbeddedKafka;
import io.streamrlhf.infra.kafka.TopicProvisioner;
import io.streamrlhf.learner.config.ConfigLoader;
import io.streamrlhf.learner.config.OnlineRewardConfig;
import io.streamrlhf.learner.stream.RewardTrainer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A reward trainer waiting for comparisons says whether the broker answers: a poll without a broker
 * returns nothing, so without asking, an outage reads as a quiet topic ("0 read").
 */
class RewardTrainerBrokerAwayTest {
  private static final Duration WAIT = Duration.ofSeconds(120);
  private static final String WAITING = "reward-trainer: waiting for comparisons on ";

  @Test
  void whileWaitingForComparisonsItSaysWhenTheBrokerCannotBeReached(@TempDir Path dir)
      throws Exception {
    var options = EmbeddedKafka.Options.defaults().withDataDir(dir.resolve("kafka"));
    var broker = EmbeddedKafka.start(options);
    var bootstrap = broker.bootstrapServers();
    int port = Integer.parseInt(bootstrap.replaceAll(".*:", ""));
    var executor = Executors.newSingleThreadExecutor();
    try {
      TopicProvisioner.provision(broker.access(), WAIT);
      TinyRun.sft(dir.resolve("sft"), TinyRun.SHAPE);
      var config = ConfigLoader.with(OnlineRewardConfig.defaults(), "statistics_samples=8");
      var watch = new Watch();
      var trainer =
          new RewardTrainer(
              config,
              RewardTrainer.Settings.of(broker.access())
                  .withWaitingLineEvery(Duration.ofSeconds(1)),
              dir.resolve("sft"),
              null,
              dir.resolve("rm"),
              false,
              watch.writer());
      var running = executor.submit(trainer::run);

      // no comparisons on a broker that answers: a quiet topic, said as such
      watch.await(WAITING, WAIT);
      assertThat(watch.lines()).filteredOn(l -> l.startsWith(WAITING)).noneMatch(UNREACHABLE);

      broker.close();
      broker = null;
      int stopped = watch.lines().size();
      Watch.until(
          () ->
              Arrays.stream(waitingLines(watch, stopped))
                  .anyMatch(l -> l.contains("cannot reach Kafka at " + bootstrap)),
          "a waiting line saying the broker cannot be reached",
          WAIT);

      // and once the broker is back, it waits on a quiet topic again
      broker = EmbeddedKafka.start(options.withPort(port));
      int back = watch.lines().size();
      Watch.until(
          () -> Arrays.stream(waitingLines(watch, back)).anyMatch(UNREACHABLE.negate()),
          "a waiting line once the broker is back",
          WAIT);
      trainer.stop();
      var summary = running.get(WAIT.toSeconds(), TimeUnit.SECONDS);
      assertThat(summary.seen()).isZero();
    } finally {
      executor.shutdownNow();
      if (broker != null) broker.close();
    }
  }

  private static final Predicate<String> UNREACHABLE = l -> l.contains("cannot reach");

  /** The waiting lines printed after the first {@code from} lines. */
  private static String[] waitingLines(Watch watch, int from) {
    var lines = watch.lines();
    return lines.subList(from, lines.size()).stream()
        .filter(l -> l.startsWith(WAITING))
        .toArray(String[]::new);
  }
}
