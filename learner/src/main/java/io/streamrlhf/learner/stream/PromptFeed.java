package io.streamrlhf.learner.stream;

import io.streamrlhf.model.RolloutGenerator;
import io.streamrlhf.schemas.AvroCodec;
import io.streamrlhf.schemas.Prompt;
import io.streamrlhf.schemas.Topics;
import io.streamrlhf.schemas.transport.Acks;
import io.streamrlhf.tasks.SplitMix64;
import io.streamrlhf.tasks.TrainingPrompts;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;

/**
 * The learner's prompt supply on {@code rlhf.prompts}, and with it the loop's flow control: batch
 * b's prompts are published only once the learner reached version b − max_lag, and ask actors for
 * that version at least ({@code minPolicyVersion}), so at most max_lag + 1 batches are in flight.
 *
 * <p>Batch b is exactly what the in-process stage samples at update b under the same seed: the
 * prompts are draws b·P .. b·P + P − 1 of {@link TrainingPrompts}, and prompt i's sampling seed is
 * {@link RolloutGenerator#promptSeeds}(s_b)[i] with s_b the b-th draw of {@code SplitMix64(seed)}.
 * Both are functions of (seed, batch, prompt), not of which actor samples.
 */
final class PromptFeed {
  private static final AvroCodec<Prompt> CODEC = AvroCodec.of(Prompt.class);

  private final Producer<byte[], byte[]> producer;
  private final String run;
  private final long seed;
  private final int promptsPerBatch;
  private final TrainingPrompts prompts;
  private final SplitMix64 batchSeeds;
  private final TreeMap<Integer, Long> ends;
  private long nextBatch;

  /**
   * A feed whose next batch is {@code nextBatch} (a restarted learner skips the earlier draws).
   *
   * @param ends per partition of {@code rlhf.prompts}, the offset after the last prompt this run
   *     published (see {@link #ends()}); empty for a new run
   */
  PromptFeed(
      Producer<byte[], byte[]> producer,
      String run,
      long seed,
      int promptsPerBatch,
      long nextBatch,
      Map<Integer, Long> ends) {
    this.producer = producer;
    this.run = run;
    this.seed = seed;
    this.promptsPerBatch = promptsPerBatch;
    this.prompts = new TrainingPrompts(seed);
    this.batchSeeds = new SplitMix64(seed);
    this.ends = new TreeMap<>(ends);
    for (long b = 0; b < nextBatch; b++) {
      batchSeeds.nextLong();
      for (int i = 0; i < promptsPerBatch; i++) prompts.next();
    }
    this.nextBatch = nextBatch;
  }

  /** The batch the next {@link #publishNext} writes. */
  long nextBatch() {
    return nextBatch;
  }

  /**
   * Per partition of {@code rlhf.prompts}, the offset after the last prompt this run published and
   * the broker acknowledged: a topic that ends before these lost prompts (a new broker, a recreated
   * topic), so its in-flight prompts must be published again.
   */
  Map<Integer, Long> ends() {
    return new TreeMap<>(ends);
  }

  /**
   * Publishes the next batch, asking for policy version {@code minPolicyVersion} or newer, and
   * waits until the broker acknowledged it.
   */
  long publishNext(long minPolicyVersion, Duration timeout) {
    long batch = nextBatch;
    long[] seeds = RolloutGenerator.promptSeeds(batchSeeds.nextLong(), promptsPerBatch);
    var texts = new ArrayList<String>(promptsPerBatch);
    for (int i = 0; i < promptsPerBatch; i++) texts.add(prompts.next().prompt());
    var now = Instant.now();
    var batchPrompts = new ArrayList<Prompt>(promptsPerBatch);
    for (int i = 0; i < promptsPerBatch; i++) {
      var id = new PromptId(run, batch, i).toString();
      batchPrompts.add(new Prompt(id, texts.get(i), now, minPolicyVersion, seeds[i]));
    }
    send(batchPrompts, timeout, "prompt batch " + batch);
    nextBatch++;
    return batch;
  }

  /**
   * Publishes prompt {@code id} of an earlier batch again, the very prompt and sampling seed,
   * asking for policy version {@code minPolicyVersion} or newer: how a rollout that came back too
   * stale is answered again instead of its prompt being lost.
   */
  void requestAgain(PromptId id, long minPolicyVersion, Duration timeout) {
    var draws = new TrainingPrompts(seed);
    var seeds = new SplitMix64(seed);
    for (long b = 0; b < id.batch(); b++) {
      seeds.nextLong();
      for (int i = 0; i < promptsPerBatch; i++) draws.next();
    }
    long[] promptSeeds = RolloutGenerator.promptSeeds(seeds.nextLong(), promptsPerBatch);
    for (int i = 0; i < id.index(); i++) draws.next();
    var prompt =
        new Prompt(
            id.toString(),
            draws.next().prompt(),
            Instant.now(),
            minPolicyVersion,
            promptSeeds[id.index()]);
    send(List.of(prompt), timeout, "prompt " + id + " (asked again)");
  }

  private void send(List<Prompt> batch, Duration timeout, String what) {
    var acks = new ArrayList<Future<RecordMetadata>>(batch.size());
    for (var prompt : batch) {
      acks.add(
          producer.send(
              new ProducerRecord<>(
                  Topics.PROMPTS,
                  prompt.getPromptId().getBytes(StandardCharsets.UTF_8),
                  CODEC.encode(prompt))));
    }
    producer.flush();
    Acks.await(acks, timeout, what, IllegalStateException::new);
    for (var ack : acks) {
      try {
        var written = ack.get();
        ends.merge(written.partition(), written.offset() + 1, Math::max);
      } catch (InterruptedException | ExecutionException e) {
        throw new IllegalStateException("acknowledged a moment ago: " + e, e);
      }
    }
  }
}
