package io.streamrlhf.infra.stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamrlhf.learner.config.ConfigLoader;
import io.streamrlhf.learner.stream.KafkaRollouts;
import io.streamrlhf.learner.stream.StreamStats;
import io.streamrlhf.learner.train.TrainState;
import io.streamrlhf.model.checkpoint.Checkpoint;
import io.streamrlhf.schemas.AvroCodec;
import io.streamrlhf.schemas.Prompt;
import io.streamrlhf.schemas.Rollout;
import io.streamrlhf.schemas.Topics;
import io.streamrlhf.schemas.transport.KafkaAccess;
import io.streamrlhf.schemas.transport.KafkaClientConfigs;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Prompts in, rollouts out, PPO updates, new weights at every actor: the loop end to end through a
 * real broker.
 */
class StreamingLoopTest {

  @Test
  void promptsBecomeRolloutsUpdatesAndWeightsThatEveryActorApplies(@TempDir Path dir)
      throws Exception {
    TinyRun.checkpoints(dir);
    var log = new StringWriter();
    var bootstrap = LoopBroker.fresh();
    {
      var summary =
          LocalLoop.run(
              TinyRun.config(2, 0),
              2,
              bootstrap,
              dir.resolve("sft"),
              dir.resolve("rm"),
              dir.resolve("ppo"),
              new PrintWriter(log, true));

      assertThat(summary.rolloutsApplied()).isEqualTo(8);
      assertThat(summary.lagMax()).isZero(); // max_lag 0: on-policy
      assertThat(Checkpoint.trainState(dir.resolve("ppo"), TrainState.class).step()).isEqualTo(2);
      // checkpoint_every_updates is 1000 here: the learner says it checkpoints every update anyway,
      // and does
      assertThat(log.toString())
          .contains("checkpointing after every update, not every 1000")
          .contains("learner: checkpoint v1 written")
          .contains("learner: checkpoint v2 written");
      assertThat(StreamStats.Summary.read(dir.resolve("ppo")).rolloutsApplied()).isEqualTo(8);
      // every actor applied the learner's newest weights (an actor may skip a version that a newer
      // one overtook)
      for (var actor : LocalLoop.actorIds(2)) {
        assertThat(log.toString()).contains(actor + ": policy v2 applied");
      }
      // batch 1 was sampled after update 1: its rollouts carry policy version 1
      var rollouts = readAll(bootstrap);
      assertThat(rollouts).hasSize(8);
      for (var r : rollouts) {
        long batch = Long.parseLong(r.getPromptId().split(":")[1]);
        assertThat(r.getPolicyVersion()).as(r.getRolloutId()).isEqualTo(batch);
      }
      assertThat(KafkaRollouts.appliedRolloutIds(dir.resolve("ppo")))
          .doesNotHaveDuplicates()
          .hasSize(8);
    }
  }

  @Test
  void theLearnerAndItsActorsSayEveryLogEveryUpdatesThVersionAndTheLast(@TempDir Path dir)
      throws Exception {
    TinyRun.checkpoints(dir);
    var log = new StringWriter();
    var config = ConfigLoader.load(TinyRun.config(3, 0), null, List.of("log_every_updates=2"));

    LocalLoop.run(
        config,
        1,
        LoopBroker.fresh(),
        dir.resolve("sft"),
        dir.resolve("rm"),
        dir.resolve("ppo"),
        new PrintWriter(log, true));

    assertThat(Checkpoint.trainState(dir.resolve("ppo"), TrainState.class).step()).isEqualTo(3);
    var lines = log.toString();
    assertThat(lines)
        .contains("learner: update 2/3", "learner: update 3/3")
        .contains("learner: checkpoint v2 written", "learner: checkpoint v3 written")
        .contains("learner: published policy v0 ", "learner: published policy v2 ")
        .contains("learner: published policy v3 ")
        .contains("actor-0: policy v0 applied", "actor-0: policy v2 applied")
        .doesNotContain("learner: update 1/3", "learner: checkpoint v1 written")
        .doesNotContain("learner: published policy v1 ", "actor-0: policy v1 applied")
        .doesNotContain("actor-0: policy v3 applied"); // every apply is an event; the log thins
  }

  /**
   * Flow control: batch b is published once the learner is at version b − max_lag, so before its
   * first update the learner has published batches 0..max_lag, max_lag + 1 of them, every one
   * asking for v0 or newer. With no actor it waits for batch 0 and gives up: then nothing more can
   * come, and the prompt topic is counted whole.
   */
  @Test
  void beforeItsFirstUpdateTheLearnerHasPublishedMaxLagPlusOneBatches(@TempDir Path dir)
      throws Exception {
    TinyRun.checkpoints(dir);
    // max_lag 0: batch 0 only; max_lag 2: batches 0, 1 and 2 (of 4), all for v0 (b − 2 ≤ 0)
    var expected =
        Map.of(
            0, List.of("0:0 v0", "0:1 v0"),
            2, List.of("0:0 v0", "0:1 v0", "1:0 v0", "1:1 v0", "2:0 v0", "2:1 v0"));
    for (int maxLag : new int[] {0, 2}) {
      var bootstrap = LoopBroker.fresh();
      var config = TinyRun.config(4, maxLag);
      var settings =
          new KafkaRollouts.Settings(
              KafkaAccess.plaintext(bootstrap),
              Duration.ofSeconds(2),
              Duration.ofSeconds(30),
              null);
      var log = new StringWriter();
      assertThatThrownBy(
              () ->
                  KafkaRollouts.learn(
                      config,
                      settings,
                      dir.resolve("sft"),
                      dir.resolve("rm"),
                      dir.resolve("ppo-" + maxLag),
                      new PrintWriter(log, true)))
          .as(log.toString())
          .hasMessageContaining("gave up after 2 s waiting for rollouts of update 1");
      try (var prompts = new TopicTail<>(bootstrap, Topics.PROMPTS, Prompt.class)) {
        var published =
            prompts.toEnd(Duration.ofSeconds(30)).stream()
                .map(
                    p ->
                        p.getPromptId().substring(p.getPromptId().indexOf(':') + 1)
                            + " v"
                            + p.getMinPolicyVersion())
                .toList();
        assertThat(published)
            .as("max_lag %d", maxLag)
            .containsExactlyInAnyOrderElementsOf(expected.get(maxLag));
      }
    }
  }

  static List<Rollout> readAll(String bootstrap) {
    var codec = AvroCodec.of(Rollout.class);
    var out = new ArrayList<Rollout>();
    try (var consumer =
        new KafkaConsumer<byte[], byte[]>(
            KafkaClientConfigs.weightsConsumer(bootstrap, "test-reader"))) {
      var partitions = new ArrayList<TopicPartition>();
      for (int p = 0; p < Topics.ROLLOUT_PARTITIONS; p++)
        partitions.add(new TopicPartition(Topics.ROLLOUTS, p));
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      var end = consumer.endOffsets(partitions, Duration.ofSeconds(30));
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (partitions.stream().anyMatch(tp -> consumer.position(tp) < end.get(tp))
          && System.nanoTime() < deadline) {
        for (var record : consumer.poll(Duration.ofMillis(200)))
          out.add(codec.decode(record.value()));
      }
    }
    return out;
  }
}
