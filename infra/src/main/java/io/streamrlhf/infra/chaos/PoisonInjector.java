package io.streamrlhf.infra.chaos;

import io.streamrlhf.schemas.AvroCodec;
import io.streamrlhf.schemas.Prompt;
import io.streamrlhf.schemas.Rollout;
import io.streamrlhf.schemas.Topics;
import io.streamrlhf.schemas.WeightChunk;
import io.streamrlhf.schemas.WeightChunker;
import io.streamrlhf.schemas.transport.KafkaClientConfigs;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * The poison producer: reads the topics the loop consumes (prompts, rollouts, policy weights) and,
 * for every 1/rate records of the loop's own on a topic (and at least once), writes there one
 * record that decodes but is invalid and one that does not decode, a different kind each time. Each
 * carries the {@link Tap#INJECTED} header and is remembered byte for byte, so the dead-letter topic
 * can be checked for it.
 *
 * <p>Invalid rollouts are aimed where they hurt: they carry the id of a rollout of the batch the
 * learner is collecting (sent the moment its prompts appear, so before any actor answers them) and
 * the policy version those prompts ask for, so only validation, not the stale, duplicate or foreign
 * checks, can keep them out; a learner that applied one would train on it and lose the real rollout
 * as a duplicate. Invalid prompts carry ids of no run (their answers would be foreign); invalid
 * weight chunks claim the version after the newest.
 */
final class PoisonInjector implements AutoCloseable {
  /** One injected record. */
  record Injected(String topic, String kind, boolean decodable, byte[] value) {}

  private static final AvroCodec<Prompt> PROMPTS = AvroCodec.of(Prompt.class);
  private static final AvroCodec<Rollout> ROLLOUTS = AvroCodec.of(Rollout.class);
  private static final AvroCodec<WeightChunk> CHUNKS = AvroCodec.of(WeightChunk.class);
  private static final List<String> UNDECODABLE =
      List.of("forged length", "not Avro", "unknown schema", "truncated body");
  private static final List<String> INVALID_PROMPTS =
      List.of("prompt longer than the context", "empty prompt");
  private static final List<String> INVALID_ROLLOUTS =
      List.of(
          "token id beyond the vocabulary",
          "NaN log-prob",
          "log-prob lengths disagree",
          "empty response",
          "NaN reward score");
  private static final List<String> INVALID_CHUNKS =
      List.of(
          "chunk count beyond bounds",
          "total bytes beyond bounds",
          "chunk index out of range",
          "chunk larger than its version");

  private final KafkaProducer<byte[], byte[]> producer;
  private final double rate;
  private final int contextLength;
  private final int vocabSize;
  private final Random random;
  private final List<Injected> injected = Collections.synchronizedList(new ArrayList<>());
  private final Map<String, Integer> seen = new HashMap<>();
  private final Map<String, Integer> invalidDue = new HashMap<>();
  private final Map<String, Integer> invalidSent = new HashMap<>();
  private final Map<String, Integer> undecodableSent = new HashMap<>();
  private final Tap tap;
  private final long lastBatch;
  private Rollout lastRollout;
  private ConsumerRecord<byte[], byte[]> lastRolloutRecord;
  private WeightChunk lastChunk;
  private long newestVersion = -1;
  private long newestBatch = -1;
  private int serial;

  /**
   * @param lastBatch the run's last prompt batch: rollouts are poisoned only before it, so the
   *     learner reads every poisoned rollout before it finishes
   */
  PoisonInjector(
      String bootstrap, double rate, int contextLength, int vocabSize, long lastBatch, long seed) {
    this.rate = rate;
    this.lastBatch = lastBatch;
    this.contextLength = contextLength;
    this.vocabSize = vocabSize;
    this.random = new Random(seed);
    this.producer = new KafkaProducer<>(KafkaClientConfigs.producer(bootstrap, "chaos-poison"));
    this.tap =
        new Tap(
            bootstrap,
            "poison",
            List.of(Topics.PROMPTS, Topics.ROLLOUTS, Topics.POLICY_WEIGHTS),
            this::onRecord);
  }

  /** Everything injected so far. */
  List<Injected> injected() {
    synchronized (injected) {
      return List.copyOf(injected);
    }
  }

  /** Why the poison producer stopped early, if it did. */
  Throwable failure() {
    return tap.failure();
  }

  private void onRecord(ConsumerRecord<byte[], byte[]> record) {
    if (Tap.injected(record)) return;
    var topic = record.topic();
    int n = seen.merge(topic, 1, Integer::sum);
    int due = (int) Math.ceil(n * rate);
    switch (topic) {
      case Topics.PROMPTS -> {
        var prompt = PROMPTS.decode(record.value());
        while (invalidSent.getOrDefault(topic, 0) < due) send(topic, invalidPrompt(prompt));
        onPrompt(prompt);
      }
      case Topics.ROLLOUTS -> {
        lastRollout = ROLLOUTS.decode(record.value());
        // sent when the next batch's prompts appear, ahead of their answers
        invalidDue.put(topic, due);
      }
      case Topics.POLICY_WEIGHTS -> {
        var chunk = CHUNKS.decode(record.value());
        lastChunk = chunk;
        newestVersion = Math.max(newestVersion, chunk.getVersion());
        while (invalidSent.getOrDefault(topic, 0) < due) send(topic, invalidChunk());
      }
      default -> {}
    }
    if (topic.equals(Topics.ROLLOUTS)) {
      lastRolloutRecord = record; // undecodable rollouts go with the invalid ones
    } else {
      while (undecodableSent.getOrDefault(topic, 0) < due) send(topic, undecodable(topic, record));
    }
  }

  /** The first prompt of a new batch: the moment to aim invalid rollouts at it. */
  private void onPrompt(Prompt prompt) {
    var parts = prompt.getPromptId().split(":");
    if (parts.length != 3) return;
    long batch = Long.parseLong(parts[1]);
    if (batch <= newestBatch || lastRollout == null) return;
    newestBatch = batch;
    // the last batch's poison could be left unread when the learner finishes: aim at earlier ones
    if (batch >= lastBatch) return;
    var topic = Topics.ROLLOUTS;
    int due = invalidDue.getOrDefault(topic, 0);
    while (invalidSent.getOrDefault(topic, 0) < due) {
      send(topic, invalidRollout(parts[0], batch, prompt.getMinPolicyVersion()));
    }
    while (undecodableSent.getOrDefault(topic, 0) < due) {
      send(topic, undecodable(topic, lastRolloutRecord));
    }
  }

  private record Poison(String kind, boolean decodable, byte[] key, byte[] value) {}

  private void send(String topic, Poison poison) {
    (poison.decodable() ? invalidSent : undecodableSent).merge(topic, 1, Integer::sum);
    var record = new ProducerRecord<>(topic, poison.key(), poison.value());
    record.headers().add(Tap.INJECTED, poison.kind().getBytes(StandardCharsets.UTF_8));
    try {
      producer.send(record).get(30, TimeUnit.SECONDS);
    } catch (Exception e) {
      throw new IllegalStateException("the poison producer could not write to " + topic, e);
    }
    injected.add(new Injected(topic, poison.kind(), poison.decodable(), poison.value()));
  }

  private String next(List<String> kinds, String topic, boolean decodable) {
    int sent = (decodable ? invalidSent : undecodableSent).getOrDefault(topic, 0);
    return kinds.get(sent % kinds.size());
  }

  // ---- records that decode but are invalid

  private Poison invalidPrompt(Prompt template) {
    var kind = next(INVALID_PROMPTS, Topics.PROMPTS, true);
    var id = "chaos-poison-" + (++serial);
    var text = kind.equals("empty prompt") ? "" : "x".repeat(contextLength + 16) + "\n";
    var prompt =
        new Prompt(id, text, Instant.now(), template.getMinPolicyVersion(), random.nextLong());
    return new Poison(kind, true, id.getBytes(StandardCharsets.UTF_8), PROMPTS.encode(prompt));
  }

  private Poison invalidRollout(String run, long batch, long policyVersion) {
    var kind = next(INVALID_ROLLOUTS, Topics.ROLLOUTS, true);
    int sent = invalidSent.getOrDefault(Topics.ROLLOUTS, 0);
    int index = sent % TinyModels.PROMPTS_PER_BATCH;
    int sample = (sent / TinyModels.PROMPTS_PER_BATCH) % TinyModels.RESPONSES_PER_PROMPT;
    var promptId = run + ":" + batch + ":" + index;
    var tokens = new ArrayList<>(lastRollout.getResponseTokens());
    var behaviour = new ArrayList<>(lastRollout.getBehaviourLogProbs());
    var reference = new ArrayList<>(lastRollout.getRefLogProbs());
    if (tokens.isEmpty()) {
      tokens.add(65);
      behaviour.add(-1f);
      reference.add(-1f);
    }
    float score = lastRollout.getRmScore();
    switch (kind) {
      case "token id beyond the vocabulary" -> tokens.set(0, vocabSize + 1000);
      case "NaN log-prob" -> behaviour.set(0, Float.NaN);
      case "log-prob lengths disagree" -> behaviour.remove(behaviour.size() - 1);
      case "empty response" -> {
        tokens.clear();
        behaviour.clear();
        reference.clear();
      }
      default -> score = Float.NaN;
    }
    var rollout =
        Rollout.newBuilder(lastRollout)
            .setRolloutId(promptId + "#" + sample)
            .setPromptId(promptId)
            .setSampleIndex(sample)
            .setResponseTokens(tokens)
            .setBehaviourLogProbs(behaviour)
            .setRefLogProbs(reference)
            .setRmScore(score)
            .setPolicyVersion(policyVersion)
            // every token by policyVersion: a copy of another rollout's versions would be a second
            // fault, caught before the one this record carries
            .setTokenVersions(List.of())
            .setActorId("chaos-poison")
            .build();
    return new Poison(kind, true, null, ROLLOUTS.encode(rollout));
  }

  private Poison invalidChunk() {
    var kind = next(INVALID_CHUNKS, Topics.POLICY_WEIGHTS, true);
    var builder = WeightChunk.newBuilder(lastChunk).setVersion(newestVersion + 1);
    var data = new byte[64];
    random.nextBytes(data);
    switch (kind) {
      case "chunk count beyond bounds" ->
          builder
              .setChunkIndex(0)
              .setChunkCount(Integer.MAX_VALUE)
              .setTotalBytes(Integer.MAX_VALUE - 8L);
      case "total bytes beyond bounds" ->
          builder.setChunkIndex(0).setChunkCount(2).setTotalBytes(1_500_000_000L);
      case "chunk index out of range" ->
          builder.setChunkIndex(5).setChunkCount(2).setTotalBytes(128);
      default -> {
        data = new byte[256];
        builder.setChunkIndex(0).setChunkCount(1).setTotalBytes(16);
      }
    }
    var chunk = builder.setData(ByteBuffer.wrap(data)).build();
    return new Poison(
        kind,
        true,
        WeightChunker.key(chunk).getBytes(StandardCharsets.UTF_8),
        CHUNKS.encode(chunk));
  }

  // ---- records that do not decode

  private Poison undecodable(String topic, ConsumerRecord<byte[], byte[]> real) {
    var kind = next(UNDECODABLE, topic, false);
    var header = Arrays.copyOf(real.value(), 10); // C3 01 and the writer schema's fingerprint
    var tag = ("chaos poison " + (++serial)).getBytes(StandardCharsets.UTF_8);
    var value =
        switch (kind) {
          case "forged length" -> concat(header, forgedLengthBody(topic), tag);
          case "not Avro" -> tag;
          case "unknown schema" -> {
            var fingerprint = new byte[8];
            random.nextBytes(fingerprint);
            yield concat(new byte[] {(byte) 0xC3, 0x01}, fingerprint, tag);
          }
          default ->
              concat(Arrays.copyOf(real.value(), Math.max(11, real.value().length / 2)), tag);
        };
    byte[] key =
        topic.equals(Topics.POLICY_WEIGHTS)
            ? ("policy/chaos-" + serial).getBytes(StandardCharsets.UTF_8)
            : null;
    return new Poison(kind, false, key, value);
  }

  /**
   * A body whose first variable-length field claims two billion items or bytes: a reader without
   * Avro's limits tries to allocate them (gigabytes) before it finds the record ends.
   */
  private byte[] forgedLengthBody(String topic) {
    var body = new ByteArrayOutputStream();
    long huge = 2_000_000_000L;
    switch (topic) {
      case Topics.ROLLOUTS -> {
        // rolloutId "x", promptId "y", then promptTokens: an array block of two billion ints
        body.writeBytes(new byte[] {2, 'x', 2, 'y'});
        body.writeBytes(varLong(huge));
      }
      case Topics.POLICY_WEIGHTS -> {
        // model POLICY, version 1, chunk 0 of 1, 1 byte, a SHA-256, then data of two billion bytes
        body.writeBytes(new byte[] {0, 2, 0, 2, 2});
        body.writeBytes(new byte[32]);
        body.writeBytes(varLong(huge));
      }
      default -> body.writeBytes(varLong(huge)); // promptId: a string of two billion bytes
    }
    return body.toByteArray();
  }

  /** Avro's zig-zag variable-length encoding of a long. */
  private static byte[] varLong(long value) {
    long n = (value << 1) ^ (value >> 63);
    var out = new ByteArrayOutputStream();
    while ((n & ~0x7FL) != 0) {
      out.write((int) ((n & 0x7F) | 0x80));
      n >>>= 7;
    }
    out.write((int) n);
    return out.toByteArray();
  }

  private static byte[] concat(byte[]... parts) {
    var out = new ByteArrayOutputStream();
    for (var p : parts) out.writeBytes(p);
    return out.toByteArray();
  }

  @Override
  public void close() {
    tap.close();
    producer.close(java.time.Duration.ofSeconds(10));
  }
}
