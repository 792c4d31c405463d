package io.streamrlhf.infra.stream;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamrlhf.learner.config.ConfigLoader;
import io.streamrlhf.learner.stream.KafkaRollouts;
import io.streamrlhf.learner.stream.StreamStats;
import io.streamrlhf.learner.train.TrainState;
import io.streamrlhf.model.checkpoint.Checkpoint;
import io.streamrlhf.schemas.AvroCodec;
import io.streamrlhf.schemas.Rollout;
import io.streamrlhf.schemas.Topics;
import io.streamrlhf.schemas.transport.KafkaClientConfigs;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
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
