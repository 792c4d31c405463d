package io.streamrlhf.infra.stream;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamrlhf.learner.config.ConfigLoader;
import io.streamrlhf.schemas.Topics;
import io.streamrlhf.schemas.transport.DeadLetters;
import io.streamrlhf.schemas.transport.KafkaClientConfigs;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Undecodable records mixed into rlhf.rollouts (2 in 98, about 2%) all end in the dead-letter
 * topic; the loop finishes.
 */
class DeadLetterLoopTest {

  @Test
  void undecodableRolloutsAreDeadLetteredAndTheLoopFinishes(@TempDir Path dir) throws Exception {
    TinyRun.checkpoints(dir);
    var bootstrap = LoopBroker.fresh();
    var t = TinyRun.config(3, 0);
    // 8 prompts x 4 responses x 3 updates = 96 rollouts
    var config =
        ConfigLoader.with(
            t,
            "prompts_per_batch=8",
            "responses_per_prompt=4",
            "tokens_per_minibatch=4096",
            "max_lag=0");
    var garbage =
        List.of(
            "not avro at all".getBytes(StandardCharsets.UTF_8),
            new byte[] {(byte) 0xC3, 0x01, 9, 9});
    // the noise: one bad record after the first real rollout appears, one after the 30th
    var noise = CompletableFuture.runAsync(() -> inject(bootstrap, garbage, List.of(1, 30)));

    var summary =
        LocalLoop.run(
            config,
            2,
            bootstrap,
            dir.resolve("sft"),
            dir.resolve("rm"),
            dir.resolve("ppo"),
            new Watch().writer());
    noise.get(60, TimeUnit.SECONDS);

    assertThat(summary.rolloutsApplied()).isEqualTo(96);
    assertThat(summary.deadLettered()).isEqualTo(2);
    var letters = readDeadLetters(bootstrap);
    assertThat(letters).hasSize(2);
    assertThat(letters.stream().map(l -> new String(l, StandardCharsets.ISO_8859_1)).toList())
        .containsExactlyInAnyOrderElementsOf(
            garbage.stream().map(g -> new String(g, StandardCharsets.ISO_8859_1)).toList());
  }

  /** Writes garbage[i] to rlhf.rollouts once after[i] real rollouts are on the topic. */
  private static void inject(String bootstrap, List<byte[]> garbage, List<Integer> after) {
    try (var producer =
            new KafkaProducer<byte[], byte[]>(KafkaClientConfigs.producer(bootstrap, "noise"));
        var consumer =
            new KafkaConsumer<byte[], byte[]>(
                KafkaClientConfigs.weightsConsumer(bootstrap, "noise-reader"))) {
      var partitions = new ArrayList<TopicPartition>();
      for (int p = 0; p < Topics.ROLLOUT_PARTITIONS; p++)
        partitions.add(new TopicPartition(Topics.ROLLOUTS, p));
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      int seen = 0;
      int next = 0;
      long deadline =
          System.nanoTime() + Duration.ofMinutes(3).toNanos(); // from before the loop starts
      while (next < garbage.size() && System.nanoTime() < deadline) {
        seen += consumer.poll(Duration.ofMillis(100)).count();
        while (next < garbage.size() && seen >= after.get(next)) {
          producer
              .send(
                  new ProducerRecord<>(
                      Topics.ROLLOUTS, next % Topics.ROLLOUT_PARTITIONS, null, garbage.get(next)))
              .get(30, TimeUnit.SECONDS);
          next++;
        }
      }
      if (next < garbage.size())
        throw new AssertionError("only " + seen + " rollouts appeared; injected " + next);
    } catch (Exception e) {
      throw new RuntimeException(e);
    }
  }

  private static List<byte[]> readDeadLetters(String bootstrap) {
    var out = new ArrayList<byte[]>();
    try (var consumer =
        new KafkaConsumer<byte[], byte[]>(
            KafkaClientConfigs.weightsConsumer(bootstrap, "dlq-reader"))) {
      var tp = new TopicPartition(Topics.DEAD_LETTER, 0);
      consumer.assign(List.of(tp));
      consumer.seekToBeginning(List.of(tp));
      long end = consumer.endOffsets(List.of(tp)).get(tp);
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (consumer.position(tp) < end && System.nanoTime() < deadline) {
        for (var record : consumer.poll(Duration.ofMillis(200))) {
          var letter = DeadLetters.codec().decode(record.value());
          assertThat(letter.getTopic()).isEqualTo(Topics.ROLLOUTS);
          var value = letter.getValue().duplicate();
          var bytes = new byte[value.remaining()];
          value.get(bytes);
          out.add(bytes);
        }
      }
    }
    return out;
  }
}
