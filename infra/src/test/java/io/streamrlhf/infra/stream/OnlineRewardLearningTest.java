package io.streamrlhf.infra.stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.streamrlhf.learner.config.ConfigLoader;
import io.streamrlhf.learner.config.OnlineRewardConfig;
import io.streamrlhf.learner.reward.HeldOutComparisons;
import io.streamrlhf.learner.reward.OnlineRewardTraining;
import io.streamrlhf.learner.stream.RewardTrainer;
import io.streamrlhf.model.ByteTokenizer;
import io.streamrlhf.model.ComputeDevice;
import io.streamrlhf.model.Gpt;
import io.streamrlhf.model.GptConfig;
import io.streamrlhf.model.RewardModel;
import io.streamrlhf.model.WeightSnapshot;
import io.streamrlhf.model.checkpoint.Checkpoint;
import io.streamrlhf.model.checkpoint.Json;
import io.streamrlhf.schemas.AvroCodec;
import io.streamrlhf.schemas.PublishedWeights;
import io.streamrlhf.schemas.Topics;
import io.streamrlhf.schemas.WeightAssembler;
import io.streamrlhf.schemas.WeightChunk;
import io.streamrlhf.schemas.WeightModel;
import io.streamrlhf.schemas.transport.KafkaClientConfigs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The reward model keeps learning from the live stream (issue 19): simulated labelers' comparisons
 * arrive on a real broker while the trainer runs; its held-out accuracy rises from chance, and
 * every version it publishes reaches rlhf.reward-weights whole, with the meta actors score and PPO
 * normalises with — loaded as an actor loads it, the newest scores the held-out pairs as the
 * trainer reported.
 */
class OnlineRewardLearningTest {
  private static final Duration WAIT = Duration.ofSeconds(120);
  private static final GptConfig SHAPE = new GptConfig(ByteTokenizer.VOCAB_SIZE, 128, 32, 2, 4);
  private static final int COMPARISONS = 960;

  @Test
  void simulatedComparisonsRaiseHeldOutAccuracyAndEveryVersionReachesTheWeightsTopic(
      @TempDir Path dir) throws Exception {
    var bootstrap = LoopBroker.fresh();
    var sft = TinyRun.sft(dir.resolve("sft"), SHAPE);
    var out = dir.resolve("reward-trainer");
    var config =
        ConfigLoader.with(
            OnlineRewardConfig.defaults(),
            "seed=11",
            "comparisons_per_step=8",
            "replay_ratio=1",
            "held_out_share=0.2",
            "publish_every_steps=10",
            // the head alone: what it learns is what the stream taught it
            "likelihood_term=false",
            "statistics_samples=16",
            "learning_rate=1e-3",
            "min_learning_rate=1e-3",
            "warmup_steps=0",
            "log_every_steps=10");
    var stream = new SimulatedComparisons(11);
    var watch = new Watch();
    var trainer =
        new RewardTrainer(
            config,
            RewardTrainer.Settings.of(bootstrap).withLimits(COMPARISONS, Long.MAX_VALUE),
            sft,
            null,
            out,
            false,
            watch.writer());
    var executor = Executors.newSingleThreadExecutor();
    try {
      SimulatedComparisons.produce(bootstrap, stream.next(COMPARISONS / 2));
      var running = executor.submit(trainer::run);
      // the rest arrive while it trains, after its cold-start version is out
      watch.await("published RM v0", WAIT);
      SimulatedComparisons.produce(bootstrap, stream.next(COMPARISONS / 2));
      var summary = running.get(WAIT.toSeconds(), TimeUnit.SECONDS);

      assertThat(summary.seen()).isEqualTo(COMPARISONS);
      assertThat(summary.skipped()).isZero();
      assertThat(summary.trained() + summary.heldOut()).isEqualTo(COMPARISONS);
      assertThat(summary.heldOut()).isBetween(100L, 300L); // 20% of the requests, by hash

      var csv = Files.readAllLines(out.resolve(RewardTrainer.ACCURACY_CSV));
      System.out.println(String.join("\n", csv));
      var last = csv.get(csv.size() - 1).split(",");
      double reportedAccuracy = Double.parseDouble(last[4]);
      assertThat(Long.parseLong(last[3])).isEqualTo(summary.version());
      assertThat(Double.parseDouble(last[5])).as("labeler agreement").isBetween(0.5, 1.0);

      // every version reached the topic whole, in order, with its meta
      var versions = readVersions(bootstrap, summary.version());
      assertThat(versions).extracting(PublishedWeights::version).startsWith(0L, 10L, 20L);
      assertThat(versions.size()).isEqualTo(csv.size() - 1);
      for (var v : versions) {
        assertThat(v.meta())
            .containsKeys(
                PublishedWeights.META_MODEL_CONFIG,
                PublishedWeights.META_REWARD_MEAN,
                PublishedWeights.META_REWARD_STD,
                PublishedWeights.META_LIKELIHOOD_WEIGHT);
        assertThat(Double.parseDouble(v.meta().get(PublishedWeights.META_REWARD_STD))).isPositive();
        assertThat(Double.parseDouble(v.meta().get(PublishedWeights.META_LIKELIHOOD_WEIGHT)))
            .isZero();
      }

      // the first and the newest version, loaded as an actor loads them, on the held-out pairs
      var state =
          Json.MAPPER.treeToValue(
              Checkpoint.extras(out).get(OnlineRewardTraining.STATE_KEY),
              OnlineRewardTraining.State.class);
      var heldOut = new HeldOutComparisons(config.heldOutSize(), state.heldOutComparisons());
      double before = accuracy(versions.get(0), heldOut);
      double after = accuracy(versions.get(versions.size() - 1), heldOut);
      System.out.printf(
          "online RM: held-out accuracy %.3f -> %.3f on %d comparisons (v%d), labeler agreement"
              + " %s%n",
          before, after, heldOut.size(), summary.version(), last[5]);
      assertThat(before).isEqualTo(0.5); // the cold start's zeroed head ties every pair
      assertThat(after).isGreaterThan(0.75);
      assertThat(after).isCloseTo(reportedAccuracy, within(1e-3));
    } finally {
      trainer.stop();
      executor.shutdownNow();
    }
  }

  /** The held-out accuracy of a published version, built from its bytes and meta alone. */
  private static double accuracy(PublishedWeights published, HeldOutComparisons heldOut) {
    var config = GptConfig.fromJson(published.meta().get(PublishedWeights.META_MODEL_CONFIG));
    try (var model =
        Gpt.fromSnapshot(config, WeightSnapshot.decode(published.bytes()), ComputeDevice.CPU)) {
      double w = Double.parseDouble(published.meta().get(PublishedWeights.META_LIKELIHOOD_WEIGHT));
      return heldOut.evaluate(RewardModel.headOnly(model), w).accuracy();
    }
  }

  /** Every version on rlhf.reward-weights, in order, until {@code lastVersion}. */
  private static List<PublishedWeights> readVersions(String bootstrap, long lastVersion)
      throws InterruptedException {
    var codec = AvroCodec.of(WeightChunk.class);
    var assembler = new WeightAssembler(WeightModel.REWARD);
    var versions = new ArrayList<PublishedWeights>();
    var partition = new TopicPartition(Topics.REWARD_WEIGHTS, 0);
    try (var consumer =
        new KafkaConsumer<byte[], byte[]>(
            KafkaClientConfigs.weightsConsumer(bootstrap, "test-weights-reader"))) {
      consumer.assign(List.of(partition));
      consumer.seekToBeginning(List.of(partition));
      Watch.until(
          () -> {
            for (var record : consumer.poll(Duration.ofMillis(200))) {
              assembler.accept(codec.decode(record.value())).ifPresent(versions::add);
            }
            return !versions.isEmpty()
                && versions.get(versions.size() - 1).version() >= lastVersion;
          },
          "reward-model v" + lastVersion + " on " + Topics.REWARD_WEIGHTS,
          WAIT);
    }
    return versions;
  }
}
