package io.streamrlhf.infra.stream;

import io.streamrlhf.model.Gpt;
import io.streamrlhf.schemas.AvroCodec;
import io.streamrlhf.schemas.LabelRequest;
import io.streamrlhf.schemas.Prompt;
import io.streamrlhf.schemas.PublishedWeights;
import io.streamrlhf.schemas.Topics;
import io.streamrlhf.schemas.WeightChunk;
import io.streamrlhf.schemas.WeightChunker;
import io.streamrlhf.schemas.WeightModel;
import io.streamrlhf.schemas.transport.Acks;
import io.streamrlhf.schemas.transport.KafkaClientConfigs;
import io.streamrlhf.schemas.transport.WeightPublisher;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Future;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * What the other processes of the loop would write, written by a test: policy and reward-model
 * versions (as the learner and the reward trainer publish them, in small chunks), prompts, label
 * requests. Every write waits for the broker's acknowledgement.
 */
final class LoopFeed implements AutoCloseable {
  static final int CHUNK_BYTES = 8 * 1024;
  private static final Duration TIMEOUT = Duration.ofSeconds(30);

  private final KafkaProducer<byte[], byte[]> producer;
  private final WeightPublisher weights;

  LoopFeed(String bootstrap) {
    producer = new KafkaProducer<>(KafkaClientConfigs.producer(bootstrap, "test-feed"));
    weights = new WeightPublisher(producer, CHUNK_BYTES);
  }

  void publishPolicy(Gpt policy, long version) {
    weights.publish(policyVersion(policy, version), TIMEOUT);
  }

  /** A policy version as the learner publishes it: the weights and the model's config. */
  static PublishedWeights policyVersion(Gpt policy, long version) {
    return new PublishedWeights(
        WeightModel.POLICY,
        version,
        policy.snapshot(version).encode(),
        Map.of(PublishedWeights.META_MODEL_CONFIG, policy.config().toJson()),
        Instant.now());
  }

  /** A reward-model version as the reward trainer publishes it: config, statistics, weight w. */
  static PublishedWeights rewardVersion(
      Gpt rewardModel, long version, double mean, double std, double likelihoodWeight) {
    var meta = new HashMap<String, String>();
    meta.put(PublishedWeights.META_MODEL_CONFIG, rewardModel.config().toJson());
    meta.put(PublishedWeights.META_REWARD_MEAN, Double.toString(mean));
    meta.put(PublishedWeights.META_REWARD_STD, Double.toString(std));
    meta.put(PublishedWeights.META_LIKELIHOOD_WEIGHT, Double.toString(likelihoodWeight));
    return new PublishedWeights(
        WeightModel.REWARD, version, rewardModel.snapshot(version).encode(), meta, Instant.now());
  }

  void publish(PublishedWeights version) {
    weights.publish(version, TIMEOUT);
  }

  /** All chunks of {@code version} but its last: a version that never completes. */
  void publishTorn(PublishedWeights version) {
    var codec = AvroCodec.of(WeightChunk.class);
    var chunks = new ArrayList<>(WeightChunker.split(version, CHUNK_BYTES));
    chunks.remove(chunks.size() - 1);
    var sends = new ArrayList<Future<?>>();
    for (var chunk : chunks) {
      sends.add(
          producer.send(
              new ProducerRecord<>(
                  Topics.weights(version.model()),
                  WeightChunker.key(chunk).getBytes(StandardCharsets.UTF_8),
                  codec.encode(chunk))));
    }
    await(sends, "torn " + version);
  }

  /** One prompt per id, a reverse instruction of its own ({@link #promptText}). */
  void publishPrompts(List<String> ids) {
    var codec = AvroCodec.of(Prompt.class);
    var sends = new ArrayList<Future<?>>();
    for (var id : ids) {
      var prompt =
          Prompt.newBuilder()
              .setPromptId(id)
              .setText(promptText(id))
              .setCreatedAt(Instant.now())
              .setMinPolicyVersion(0)
              .setSamplingSeed(id.hashCode())
              .build();
      sends.add(
          producer.send(new ProducerRecord<>(Topics.PROMPTS, bytes(id), codec.encode(prompt))));
    }
    await(sends, ids.size() + " prompts");
  }

  void publishLabelRequests(List<LabelRequest> requests) {
    var codec = AvroCodec.of(LabelRequest.class);
    var sends = new ArrayList<Future<?>>();
    for (var request : requests) {
      sends.add(
          producer.send(
              new ProducerRecord<>(
                  Topics.LABEL_REQUESTS, bytes(request.getRequestId()), codec.encode(request))));
    }
    await(sends, requests.size() + " label requests");
  }

  /** "Reverse {w}.\n" with a word of four letters that the id picks. */
  static String promptText(String id) {
    int h = Math.floorMod(id.hashCode(), 26 * 26 * 26 * 26);
    var word = new StringBuilder();
    for (int i = 0; i < 4; i++, h /= 26) word.append((char) ('a' + h % 26));
    return "Reverse " + word + ".\n";
  }

  private void await(List<Future<?>> sends, String what) {
    producer.flush();
    Acks.await(sends, TIMEOUT, what, IllegalStateException::new);
  }

  private static byte[] bytes(String key) {
    return key.getBytes(StandardCharsets.UTF_8);
  }

  @Override
  public void close() {
    producer.close(TIMEOUT);
  }
}
