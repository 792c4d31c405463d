package io.streamrlhf.infra.stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamrlhf.actors.ActorNode;
import io.streamrlhf.actors.RolloutActor;
import io.streamrlhf.actors.VerticleFailure;
import io.streamrlhf.model.checkpoint.Checkpoint;
import io.streamrlhf.schemas.AvroCodec;
import io.streamrlhf.schemas.Topics;
import io.streamrlhf.schemas.WeightChunk;
import io.streamrlhf.schemas.WeightStore;
import io.streamrlhf.schemas.transport.KafkaAccess;
import io.streamrlhf.schemas.transport.KafkaClientConfigs;
import io.streamrlhf.schemas.transport.WeightPublisher;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The loop with policy bytes in a weight store ({@code --weights-store}) through a real broker: the
 * topic carries only signed pointers, and the actor samples every batch with the version the
 * learner published for it, read from the store.
 */
class StoredWeightsLoopTest {

  @Test
  void theActorAppliesEveryVersionFromTheStoreWhileTheTopicCarriesOnlyPointers(@TempDir Path dir)
      throws Exception {
    TinyRun.checkpoints(dir);
    var log = new StringWriter();
    var bootstrap = LoopBroker.fresh();
    var store = WeightStore.at(dir.resolve("store"));

    var summary =
        LocalLoop.run(
            TinyRun.config(2, 0),
            1,
            KafkaAccess.plaintext(bootstrap),
            dir.resolve("sft"),
            dir.resolve("rm"),
            dir.resolve("ppo"),
            new PrintWriter(log, true),
            s -> s.withWeightStore(store),
            e -> {});

    assertThat(summary.rolloutsApplied()).isEqualTo(8);
    assertThat(log.toString())
        .contains("actor-0: policy v2 applied")
        .doesNotContain("rejected")
        .containsPattern(
            "learner: published policy v2 \\(\\d+ bytes in the weight store, a pointer")
        .doesNotContain("chunk(s)");
    // max_lag 0: batch b is sampled with version b, which the actor could only get from the store
    for (var r : StreamingLoopTest.readAll(bootstrap)) {
      long batch = Long.parseLong(r.getPromptId().split(":")[1]);
      assertThat(r.getPolicyVersion()).as(r.getRolloutId()).isEqualTo(batch);
    }
    var chunks = weightChunks(bootstrap);
    assertThat(chunks).extracting(WeightChunk::getVersion).containsExactly(0L, 1L, 2L);
    for (var c : chunks) {
      assertThat(c.getData().remaining()).isZero();
      assertThat(c.getMeta()).containsKeys(WeightStore.META_OBJECT, "signature");
      assertThat(Files.size(store.root().resolve(c.getMeta().get(WeightStore.META_OBJECT))))
          .isEqualTo(Long.parseLong(c.getMeta().get(WeightStore.META_BYTES)))
          .isGreaterThan(10_000);
    }
    try (Stream<Path> objects = Files.list(store.root().resolve("policy"))) {
      assertThat(objects).hasSize(3);
    }
  }

  @Test
  void anActorWithoutTheStoreEndsAtTheFirstPointerSayingHowToStartIt(@TempDir Path dir)
      throws Exception {
    TinyRun.checkpoints(dir);
    var bootstrap = LoopBroker.fresh();
    var config = TinyRun.config(1, 0);
    var vertx = ActorNode.newVertx();
    var node =
        ActorNode.deploy(
            vertx,
            LocalLoop.settings("actor-0", bootstrap, config),
            RolloutActor.Models.load(
                dir.resolve("sft"), LocalLoop.actorReward(config.reward(), dir.resolve("rm"))),
            line -> {});
    try (var producer =
            new KafkaProducer<byte[], byte[]>(KafkaClientConfigs.producer(bootstrap, "learner"));
        var policy = Checkpoint.loadModel(dir.resolve("sft"))) {
      new WeightPublisher(producer, null, WeightStore.at(dir.resolve("store")))
          .publish(LoopFeed.policyVersion(policy, 0), Duration.ofSeconds(30));
      assertThatThrownBy(() -> node.ended().get(2, TimeUnit.MINUTES))
          .hasMessageContaining("policy v0")
          .hasMessageContaining("--weights-store DIR")
          // the actor's flags: a restart repeats it, so its process exits 2, not 1
          .cause()
          .isInstanceOfSatisfying(
              VerticleFailure.class, f -> assertThat(f.usersMistake()).isTrue());
    } finally {
      node.stop();
      vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    }
  }

  /** Every committed record of the policy weight topic, in version order. */
  private static List<WeightChunk> weightChunks(String bootstrap) {
    var codec = AvroCodec.of(WeightChunk.class);
    var out = new ArrayList<WeightChunk>();
    try (var consumer =
        new KafkaConsumer<byte[], byte[]>(
            KafkaClientConfigs.weightsConsumer(bootstrap, "test-weights-reader"))) {
      var partitions = new ArrayList<TopicPartition>();
      for (var info : consumer.partitionsFor(Topics.POLICY_WEIGHTS, Duration.ofSeconds(30)))
        partitions.add(new TopicPartition(Topics.POLICY_WEIGHTS, info.partition()));
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
    out.sort(java.util.Comparator.comparingLong(WeightChunk::getVersion));
    return out;
  }
}
