package io.streamrlhf.infra.stream;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamrlhf.learner.config.ConfigLoader;
import io.streamrlhf.learner.config.PpoConfig;
import io.streamrlhf.learner.stream.KafkaRollouts;
import io.streamrlhf.learner.stream.StreamStats;
import io.streamrlhf.model.checkpoint.Checkpoint;
import io.streamrlhf.schemas.AvroCodec;
import io.streamrlhf.schemas.Prompt;
import io.streamrlhf.schemas.Rollout;
import io.streamrlhf.schemas.Topics;
import io.streamrlhf.schemas.transport.KafkaAccess;
import io.streamrlhf.schemas.transport.KafkaClientConfigs;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Rollouts the learner read and held for a later batch before a checkpoint are read again after a
 * resume from it. When the resume lowers max_lag they are too stale for their batch now, though
 * they were not when first read: they are counted and their prompts asked again, not dropped in
 * silence (the batch would wait for rollouts no actor is asked for). Rollouts already too stale
 * before the checkpoint stay counted once.
 *
 * <p>The test is the actor, so the order is fixed rather than raced: it answers every prompt with
 * the policy version the prompt asks for (but batch 3 first with v0, too stale even for max_lag 2),
 * all on one rollout partition, and answers batch 1 last, so the learner holds batches 2 and 3 and
 * has asked batch 3 again when it writes checkpoint v2.
 */
class HeldRolloutsStaleOnResumeTest {
  private static final Duration WAIT = Duration.ofSeconds(120);
  private static final AvroCodec<Prompt> PROMPTS = AvroCodec.of(Prompt.class);
  private static final AvroCodec<Rollout> ROLLOUTS = AvroCodec.of(Rollout.class);
  private static final int UPDATES = 4;

  @Test
  void rolloutsHeldBeforeTheCheckpointAndStaleAfterTheResumeHaveTheirPromptsAskedAgain(
      @TempDir Path dir) throws Exception {
    TinyRun.checkpoints(dir);
    var bootstrap = LoopBroker.fresh();
    // max_lag 2: batches 0..2 go out at v0 together, and a v0 answer to batch 2 is held, not stale
    var config = TinyRun.config(UPDATES, 2);
    ConfigLoader.save(config, dir.resolve("settings"));
    var out = dir.resolve("ppo");
    var stop = new AtomicBoolean();
    var actor = new Thread(() -> answer(bootstrap, config.responsesPerPrompt(), stop), "actor");
    actor.setDaemon(true);
    actor.start();
    try {
      // update 3 (batch 2, held since before checkpoint v2) computed, its checkpoint half written
      var first = new Watch();
      var halted =
          first.rlhf(
              List.of("-D" + Checkpoint.HALT_PROPERTY + "=3"),
              TinyRun.loopArgs(
                  "learner", bootstrap, dir, "--out", out.toString(), "--rollout-wait", "PT1M"));
      assertThat(first.exited(halted, WAIT)).isTrue();
      assertThat(halted.exitValue()).as(String.join("\n", first.lines())).isEqualTo(137);
      assertThat(asks(first))
          .containsExactlyInAnyOrder(":3:0 sampled by v0 for v1", ":3:1 sampled by v0 for v1");

      // resumed at v2 with max_lag 0: batch 2's v0 rollouts, read again from the checkpoint's
      // offsets, lag their batch by 2
      var second = new Watch();
      var summary =
          KafkaRollouts.learn(
              ConfigLoader.with(config, "max_lag=0"),
              new KafkaRollouts.Settings(
                  // bounded well below WAIT: a batch nobody is asked for ends the run, not the test
                  KafkaAccess.plaintext(bootstrap),
                  Duration.ofSeconds(20),
                  Duration.ofSeconds(60),
                  null),
              dir.resolve("sft"),
              dir.resolve("rm"),
              out,
              second.writer());
      assertThat(second.has("resuming at policy v2"))
          .as(String.join("\n", second.lines()))
          .isTrue();
      // read from the checkpoint's offsets: batch 0's four rollouts are 0-3 of partition 0, and
      // the held batch 2 begins at 4 (a resume once rewound every partition to 0)
      assertThat(second.lines())
          .anyMatch(l -> l.contains("; rollout offsets {0=4, 1=0, 2=0, 3=0}; "));
      // batch 2 held at the checkpoint, batch 3 asked again then but for v1, too old now
      assertThat(asks(second))
          .containsExactlyInAnyOrder(
              ":2:0 sampled by v0 for v2",
              ":2:1 sampled by v0 for v2",
              ":3:0 sampled by v0 for v3",
              ":3:1 sampled by v0 for v3");
      assertThat(summary.promptsRequestedAgain()).isEqualTo(2 + 4);
      // batch 3's v0 rollouts counted by the first process, once; batch 2's v0 and batch 3's v1
      // rollouts (held then) by the second
      assertThat(summary.droppedStale()).isEqualTo(4 + 4 + 4);
      assertThat(summary.rolloutsApplied()).isEqualTo(UPDATES * 4);
      // lag = the version trained at − the rollout's version. Checkpoint v2 counted batch 0 (v0 at
      // v0: 0) and batch 1 (v0 at v1: 1); batch 2's v0 rollouts trained at v2 (lag 2) died with
      // the half-written checkpoint v3; the second process trained batch 2 on v2 and batch 3 on v3
      // answers (0). Of 16: twelve at 0, four at 1, so p50 (rank 8) is 0 and p99 (rank
      // ⌈0.99 · 16⌉ = 16) and max are 1
      assertThat(summary.lagP50()).isZero();
      assertThat(summary.lagP99()).isEqualTo(1);
      assertThat(summary.lagMax()).isEqualTo(1);
      // the same per token: these rollouts carry no token versions, so each of their 3 tokens
      // counts at the rollout's version. Of 48: 36 at 0, 12 at 1; p50 (rank 24) 0, p99 (rank 48) 1
      assertThat(summary.tokenLagP50()).isZero();
      assertThat(summary.tokenLagP99()).isEqualTo(1);
    } finally {
      stop.set(true);
      actor.join(TimeUnit.SECONDS.toMillis(30));
    }
    var expected = new ArrayList<String>();
    for (int b = 0; b < UPDATES; b++) {
      for (int i = 0; i < 2; i++) {
        for (int k = 0; k < 2; k++) expected.add(b + ":" + i + "#" + k);
      }
    }
    assertThat(
            KafkaRollouts.appliedRolloutIds(out).stream()
                .map(id -> id.substring(id.indexOf(':') + 1))
                .toList())
        .as("every prompt trained on, in its own update, once")
        .isEqualTo(expected);
  }

  /**
   * A resumed learner reads again from the checkpoint's offsets and does not count again what was
   * counted before it: only records below the offset the checkpoint had read to. The record at that
   * offset is the first one read after it, counted as new: here another run's rollout, skipped as
   * foreign exactly once.
   */
  @Test
  void theFirstRolloutAtTheOffsetTheCheckpointHadReadToIsCountedByTheResumedLearner(
      @TempDir Path dir) throws Exception {
    TinyRun.checkpoints(dir);
    var bootstrap = LoopBroker.fresh();
    var config = TinyRun.config(1, 0);
    var out = dir.resolve("ppo");
    try (var prompts = new TopicTail<>(bootstrap, Topics.PROMPTS, Prompt.class);
        var producer =
            new KafkaProducer<byte[], byte[]>(
                KafkaClientConfigs.producer(bootstrap, "test-actor"))) {
      // one update, on batch 0's four rollouts at offsets 0-3 of partition 0: the checkpoint v1
      // has read partition 0 to offset 4
      var first = learnAsync(config, bootstrap, dir, out, new Watch());
      var batchZero = prompts.until(read -> read.size() == 2, "prompt batch 0", WAIT);
      for (var prompt : batchZero) send(producer, prompt, 0, config.responsesPerPrompt());
      assertThat(first.get(WAIT.toSeconds(), TimeUnit.SECONDS).rolloutsApplied()).isEqualTo(4);

      // another run's rollout at offset 4, then the run resumed for a second update
      var stranger = Prompt.newBuilder(batchZero.get(0)).setPromptId("r-elsewhere:1:0").build();
      send(producer, stranger, 1, 1);
      var second = new Watch();
      var resumed = learnAsync(ConfigLoader.with(config, "updates=2"), bootstrap, dir, out, second);
      // batch 1, published by the resumed learner for v1: answered at offsets 5-8
      var batchOne = prompts.until(read -> read.size() == 4, "prompt batch 1", WAIT).subList(2, 4);
      for (var prompt : batchOne) send(producer, prompt, 1, config.responsesPerPrompt());
      var summary = resumed.get(WAIT.toSeconds(), TimeUnit.SECONDS);

      assertThat(second.lines())
          .as(String.join("\n", second.lines()))
          .anyMatch(l -> l.contains("; rollout offsets {0=4, 1=0, 2=0, 3=0}; "));
      // offset 4 is not below 4: read for the first time, and counted
      assertThat(summary.foreignSkipped()).isEqualTo(1);
      assertThat(summary.duplicatesSkipped()).isZero();
      assertThat(summary.rolloutsApplied()).isEqualTo(8);
    }
  }

  /**
   * {@link KafkaRollouts#learn} on a thread of its own, giving up after a minute without rollouts.
   */
  private static CompletableFuture<StreamStats.Summary> learnAsync(
      PpoConfig config, String bootstrap, Path dir, Path out, Watch log) {
    return CompletableFuture.supplyAsync(
        () -> {
          try {
            return KafkaRollouts.learn(
                config,
                new KafkaRollouts.Settings(
                    KafkaAccess.plaintext(bootstrap),
                    Duration.ofSeconds(60),
                    Duration.ofSeconds(60),
                    null),
                dir.resolve("sft"),
                dir.resolve("rm"),
                out,
                log.writer());
          } catch (Exception e) {
            throw new IllegalStateException(e);
          }
        });
  }

  /** The learner's asks again, as {@code :batch:prompt sampled by vS for vM}. */
  private static List<String> asks(Watch learner) {
    var ask =
        Pattern.compile(
            "a rollout of prompt [\\w-]+(:\\d+:\\d+) (sampled by v\\d+) lags its batch by more than"
                + " max_lag \\d+: prompt asked again (for v\\d+) or newer");
    return learner.lines().stream()
        .map(ask::matcher)
        .filter(Matcher::find)
        .map(m -> m.group(1) + " " + m.group(2) + " " + m.group(3))
        .toList();
  }

  /**
   * The actor: answers each prompt with the version it asks for, batch 3 first with v0, on rollout
   * partition 0; batch 1 only after batch 2 and both answers to batch 3.
   */
  private static void answer(String bootstrap, int samples, AtomicBoolean stop) {
    try (var prompts =
            new KafkaConsumer<byte[], byte[]>(
                KafkaClientConfigs.groupConsumer(bootstrap, "test-actors", "test-actor"));
        var producer =
            new KafkaProducer<byte[], byte[]>(
                KafkaClientConfigs.producer(bootstrap, "test-actor"))) {
      prompts.subscribe(List.of(Topics.PROMPTS));
      var batchOne = new ArrayList<Prompt>();
      var answered = new HashMap<String, Integer>();
      int ahead = 0; // answers to batches 2 and 3 before batch 1's
      while (!stop.get()) {
        for (var record : prompts.poll(Duration.ofMillis(100))) {
          var prompt = PROMPTS.decode(record.value());
          long batch = Long.parseLong(prompt.getPromptId().split(":")[1]);
          if (batch == 1 && ahead < 6) {
            batchOne.add(prompt);
            continue;
          }
          int times = answered.merge(prompt.getPromptId(), 1, Integer::sum);
          long version = batch == 3 && times == 1 ? 0 : prompt.getMinPolicyVersion();
          send(producer, prompt, version, samples);
          if ((batch == 2 || batch == 3) && ++ahead == 6) {
            for (var held : batchOne) send(producer, held, held.getMinPolicyVersion(), samples);
            batchOne.clear();
          }
        }
      }
    }
  }

  private static void send(
      KafkaProducer<byte[], byte[]> producer, Prompt prompt, long version, int samples) {
    var key = prompt.getPromptId().getBytes(StandardCharsets.UTF_8);
    for (int sample = 0; sample < samples; sample++) {
      try {
        producer
            .send(
                new ProducerRecord<>(
                    Topics.ROLLOUTS,
                    0,
                    key,
                    ROLLOUTS.encode(InvalidRolloutsTest.rollout(prompt, version, sample))))
            .get(30, TimeUnit.SECONDS);
      } catch (Exception e) {
        throw new IllegalStateException("rollout not acknowledged", e);
      }
    }
  }
}
