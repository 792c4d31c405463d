package io.streamrlhf.infra.stream;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamrlhf.learner.stream.KafkaRollouts;
import io.streamrlhf.model.ByteTokenizer;
import io.streamrlhf.schemas.AvroCodec;
import io.streamrlhf.schemas.DeadLetter;
import io.streamrlhf.schemas.Prompt;
import io.streamrlhf.schemas.Rollout;
import io.streamrlhf.schemas.RolloutRecords;
import io.streamrlhf.schemas.Topics;
import io.streamrlhf.schemas.transport.KafkaClientConfigs;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Collections;
import java.util.List;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Rollouts that decode but that no update can take (a token past the vocabulary, a NaN log-prob, an
 * empty response, log-probs that do not match the tokens) arrive for the very slots the learner is
 * filling, ahead of the real ones: each goes to the dead-letter topic with its reason and raw
 * bytes, and the learner finishes its run on the real rollouts. Taken into a batch, the first would
 * have ended the update in an exception, on every restart from the same offsets.
 *
 * <p>The test is the actor: it answers each prompt the learner publishes itself.
 */
class InvalidRolloutsTest {
  private static final Duration WAIT = Duration.ofSeconds(120);
  private static final AvroCodec<Rollout> ROLLOUTS = AvroCodec.of(Rollout.class);

  /** How the slots of batch 0 (two prompts, two samples each) are broken. */
  private static final List<UnaryOperator<Rollout>> BREAKAGES =
      List.of(
          r -> withResponse(r, List.of(97, ByteTokenizer.VOCAB_SIZE)),
          r -> {
            r.setBehaviourLogProbs(List.of(-1f, Float.NaN, -1f));
            return r;
          },
          r -> withResponse(r, List.of()),
          r -> {
            r.setRefLogProbs(List.of(-1f));
            return r;
          });

  private static final List<String> REASONS =
      List.of(
          "invalid Rollout: response token 260 at 1 is not one the model emits (0..256)",
          "invalid Rollout: behaviour log-prob NaN at 1 (must be finite and <= 0)",
          "invalid Rollout: empty response",
          "invalid Rollout: 3 response tokens but 3 behaviour and 1 reference log-probs");

  @Test
  void theLearnerDeadLettersRolloutsItCannotTakeAndFinishesOnTheRealOnes(@TempDir Path dir)
      throws Exception {
    TinyRun.checkpoints(dir);
    var bootstrap = LoopBroker.fresh();
    var config = TinyRun.config(2, 0); // 2 updates of 2 prompts x 2 responses
    var learning =
        CompletableFuture.supplyAsync(
            () -> {
              try {
                return KafkaRollouts.learn(
                    config,
                    KafkaRollouts.Settings.of(bootstrap),
                    dir.resolve("sft"),
                    dir.resolve("rm"),
                    dir.resolve("ppo"),
                    new Watch().writer());
              } catch (Exception e) {
                throw new RuntimeException(e);
              }
            });

    var sentInvalid = new TreeMap<String, byte[]>(); // rollout id -> raw bytes
    try (var prompts =
            new KafkaConsumer<byte[], byte[]>(
                KafkaClientConfigs.groupConsumer(bootstrap, "test-actors", "test-actor"));
        var producer =
            new KafkaProducer<byte[], byte[]>(
                KafkaClientConfigs.producer(bootstrap, "test-actor"))) {
      prompts.subscribe(List.of(Topics.PROMPTS));
      var codec = AvroCodec.of(Prompt.class);
      long deadline = System.nanoTime() + WAIT.toNanos();
      while (!learning.isDone() && System.nanoTime() < deadline) {
        for (var record : prompts.poll(Duration.ofMillis(100))) {
          var prompt = codec.decode(record.value());
          for (int sample = 0; sample < config.responsesPerPrompt(); sample++) {
            var real = rollout(prompt, sample);
            int slot = sentInvalid.size();
            if (prompt.getMinPolicyVersion() == 0 && slot < BREAKAGES.size()) {
              // ahead of the real one, on the same partition (same key)
              var broken = BREAKAGES.get(slot).apply(Rollout.newBuilder(real).build());
              var bytes = ROLLOUTS.encode(broken);
              sentInvalid.put(broken.getRolloutId(), bytes);
              send(producer, prompt, bytes);
            }
            send(producer, prompt, ROLLOUTS.encode(real));
          }
        }
      }
    }
    var summary = learning.get(WAIT.toSeconds(), TimeUnit.SECONDS);

    assertThat(sentInvalid).hasSize(BREAKAGES.size());
    assertThat(summary.rolloutsApplied()).isEqualTo(8);
    assertThat(summary.deadLettered()).isEqualTo(BREAKAGES.size());
    try (var letters = new TopicTail<>(bootstrap, Topics.DEAD_LETTER, DeadLetter.class)) {
      var read = letters.until(l -> l.size() >= BREAKAGES.size(), "4 dead letters", WAIT);
      assertThat(read)
          .extracting(DeadLetter::getError)
          .containsExactlyInAnyOrderElementsOf(REASONS);
      assertThat(read)
          .allSatisfy(
              letter -> {
                assertThat(letter.getTopic()).isEqualTo(Topics.ROLLOUTS);
                assertThat(letter.getConsumer()).isEqualTo("learner");
                var raw = ROLLOUTS.decode(bytes(letter.getValue()));
                assertThat(bytes(letter.getValue())).isEqualTo(sentInvalid.get(raw.getRolloutId()));
              });
    }
  }

  /** A rollout an actor at the prompt's policy version could have sent. */
  private static Rollout rollout(Prompt prompt, int sample) {
    return rollout(prompt, prompt.getMinPolicyVersion(), sample);
  }

  /** A rollout an actor at policy {@code version} could have sent ("ok" and EOS). */
  static Rollout rollout(Prompt prompt, long version, int sample) {
    var response = List.of(111, 107, ByteTokenizer.EOS); // "ok" and EOS
    var logProbs = Collections.nCopies(response.size(), -1.5f);
    var now = Instant.now();
    return Rollout.newBuilder()
        .setRolloutId(prompt.getPromptId() + "#" + sample)
        .setPromptId(prompt.getPromptId())
        .setPromptTokens(RolloutRecords.intList(ByteTokenizer.encode(prompt.getText())))
        .setResponseTokens(response)
        .setBehaviourLogProbs(logProbs)
        .setRefLogProbs(logProbs)
        .setRmScore(0.25f * sample)
        .setPolicyVersion(version)
        .setActorId("test-actor")
        .setTerminated(true)
        .setSampleIndex(sample)
        .setStartedAt(now)
        .setProducedAt(now)
        .build();
  }

  private static Rollout withResponse(Rollout r, List<Integer> response) {
    var logProbs = Collections.nCopies(response.size(), -1.5f);
    r.setResponseTokens(response);
    r.setBehaviourLogProbs(logProbs);
    r.setRefLogProbs(logProbs);
    return r;
  }

  private static void send(KafkaProducer<byte[], byte[]> producer, Prompt prompt, byte[] value) {
    var key = prompt.getPromptId().getBytes(StandardCharsets.UTF_8);
    try {
      producer.send(new ProducerRecord<>(Topics.ROLLOUTS, key, value)).get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException("rollout not acknowledged", e);
    }
  }

  private static byte[] bytes(ByteBuffer buffer) {
    var copy = buffer.duplicate();
    var out = new byte[copy.remaining()];
    copy.get(out);
    return out;
  }
}
