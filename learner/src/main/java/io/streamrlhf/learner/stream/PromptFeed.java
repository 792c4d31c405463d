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
  private final int promptsPerBatch;
  private final TrainingPrompts prompts;
  private final SplitMix64 batchSeeds;
  private long nextBatch;

  /** A feed whose next batch is {@code nextBatch} (a restarted learner skips the earlier draws). */
  PromptFeed(
      Producer<byte[], byte[]> producer,
      String run,
      long seed,
      int promptsPerBatch,
      long nextBatch) {
    this.producer = producer;
    this.run = run;
    this.promptsPerBatch = promptsPerBatch;
    this.prompts = new TrainingPrompts(seed);
    this.batchSeeds = new SplitMix64(seed);
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
   * Publishes the next batch, asking for policy version {@code minPolicyVersion} or newer, and
   * waits until the broker acknowledged it.
   */
  long publishNext(long minPolicyVersion, Duration timeout) {
    long batch = nextBatch;
    long[] seeds = RolloutGenerator.promptSeeds(batchSeeds.nextLong(), promptsPerBatch);
    var acks = new ArrayList<Future<RecordMetadata>>(promptsPerBatch);
    var now = Instant.now();
    for (int i = 0; i < promptsPerBatch; i++) {
      var id = new PromptId(run, batch, i).toString();
      var prompt = new Prompt(id, prompts.next().prompt(), now, minPolicyVersion, seeds[i]);
      acks.add(
          producer.send(
              new ProducerRecord<>(
                  Topics.PROMPTS, id.getBytes(StandardCharsets.UTF_8), CODEC.encode(prompt))));
    }
    producer.flush();
    Acks.await(acks, timeout, "prompt batch " + batch, IllegalStateException::new);
    nextBatch++;
    return batch;
  }
}
