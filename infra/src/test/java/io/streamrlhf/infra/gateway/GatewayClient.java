package io.streamrlhf.infra.gateway;

import io.streamrlhf.schemas.AvroCodec;
import io.streamrlhf.schemas.Comparison;
import io.streamrlhf.schemas.LabelRequest;
import io.streamrlhf.schemas.Topics;
import io.streamrlhf.schemas.transport.KafkaAccess;
import io.streamrlhf.schemas.transport.KafkaClientConfigs;
import io.vertx.core.json.JsonObject;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;

/**
 * What the gateway tests do from outside: HTTP calls as a script or tool would make them, label
 * requests published as an actor would, and comparisons read back from the topic as the reward
 * trainer would.
 */
final class GatewayClient {
  static final Duration DEADLINE = Duration.ofSeconds(30);
  private static final AvroCodec<LabelRequest> REQUESTS = AvroCodec.of(LabelRequest.class);
  private static final AvroCodec<Comparison> COMPARISONS = AvroCodec.of(Comparison.class);

  private final HttpClient http =
      HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
  private final String base;
  private final KafkaAccess kafka;

  GatewayClient(String base, String bootstrap) {
    this(base, KafkaAccess.plaintext(bootstrap));
  }

  /** Publishing and reading back as {@code kafka}'s user. */
  GatewayClient(String base, KafkaAccess kafka) {
    this.base = base.endsWith("/") ? base.substring(0, base.length() - 1) : base;
    this.kafka = kafka;
  }

  record Reply(int status, String body, Map<String, List<String>> headers) {
    JsonObject json() {
      return new JsonObject(body);
    }

    String header(String name) {
      return headers.entrySet().stream()
          .filter(e -> e.getKey().equalsIgnoreCase(name))
          .map(e -> e.getValue().get(0))
          .findFirst()
          .orElse(null);
    }
  }

  Reply get(String path, String token) {
    var b = HttpRequest.newBuilder(URI.create(base + path)).timeout(DEADLINE).GET();
    if (token != null) b.header("Authorization", "Bearer " + token);
    return send(b.build());
  }

  /** A HEAD, as a health check or curl -I sends it. */
  Reply head(String path) {
    return send(
        HttpRequest.newBuilder(URI.create(base + path))
            .timeout(DEADLINE)
            .method("HEAD", HttpRequest.BodyPublishers.noBody())
            .build());
  }

  /** A GET with a Content-Type header, as some clients send one. */
  Reply getAs(String contentType, String path, String token) {
    var b =
        HttpRequest.newBuilder(URI.create(base + path))
            .timeout(DEADLINE)
            .header("Content-Type", contentType)
            .GET();
    if (token != null) b.header("Authorization", "Bearer " + token);
    return send(b.build());
  }

  Reply post(String path, String token, String body, String... headers) {
    return postAs("application/json", path, token, body, headers);
  }

  /** A POST whose body says it is of {@code contentType}. */
  Reply postAs(String contentType, String path, String token, String body, String... headers) {
    var b =
        HttpRequest.newBuilder(URI.create(base + path))
            .timeout(DEADLINE)
            .header("Content-Type", contentType)
            .POST(HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8));
    if (token != null) b.header("Authorization", "Bearer " + token);
    if (headers.length > 0) b.headers(headers);
    return send(b.build());
  }

  /** The same with the body sent chunked, its length not said up front (as curl sends a file). */
  Reply postChunkedAs(String contentType, String path, String token, String body) {
    var b =
        HttpRequest.newBuilder(URI.create(base + path))
            .timeout(DEADLINE)
            .header("Content-Type", contentType)
            .header("Authorization", "Bearer " + token)
            .POST(
                HttpRequest.BodyPublishers.fromPublisher(
                    HttpRequest.BodyPublishers.ofString(body, StandardCharsets.UTF_8)));
    return send(b.build());
  }

  private Reply send(HttpRequest request) {
    try {
      var r = http.send(request, HttpResponse.BodyHandlers.ofString());
      return new Reply(r.statusCode(), r.body(), r.headers().map());
    } catch (IOException e) {
      throw new IllegalStateException(request.method() + " " + request.uri() + " failed: " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** A label request as an actor publishes it, acknowledged by the broker. */
  void publish(LabelRequest request) throws Exception {
    publishAll(List.of(request), List.of());
  }

  /** Label requests and the comparisons answering them, all acknowledged by the broker. */
  void publishAll(List<LabelRequest> requests, List<Comparison> comparisons) throws Exception {
    try (var producer =
        new KafkaProducer<byte[], byte[]>(KafkaClientConfigs.producer(kafka, "test-actor"))) {
      var sent = new ArrayList<java.util.concurrent.Future<?>>();
      for (var r : requests)
        sent.add(
            producer.send(
                new ProducerRecord<>(
                    Topics.LABEL_REQUESTS,
                    r.getRequestId().getBytes(StandardCharsets.UTF_8),
                    REQUESTS.encode(r))));
      for (var c : comparisons)
        sent.add(
            producer.send(
                new ProducerRecord<>(
                    Topics.COMPARISONS,
                    c.getRequestId().getBytes(StandardCharsets.UTF_8),
                    COMPARISONS.encode(c))));
      for (var s : sent) s.get(DEADLINE.toSeconds(), TimeUnit.SECONDS);
    }
  }

  /** Waits until the gateway has read the feedback topics to their end and takes rankings. */
  void awaitReady(String token) {
    await(
        () -> get("/api/status", token).json().getBoolean("ready"),
        "the gateway to read the feedback topics");
  }

  static LabelRequest request(String id, String... responses) {
    return request(id, "Reverse abc.\n", List.of(responses));
  }

  static LabelRequest request(String id, String prompt, List<String> responses) {
    return LabelRequest.newBuilder()
        .setRequestId(id)
        .setPromptId("prompt-" + id)
        .setPromptText(prompt)
        .setResponses(responses)
        .setPolicyVersion(7)
        .setRewardVersion(2)
        .setActorId("actor-test")
        .setCreatedAt(Instant.now())
        .build();
  }

  /**
   * Waits until the gateway has read the request from the topic: skipping it for a probe labeler
   * succeeds only then (400 "unknown request id" before).
   */
  void awaitKnown(String requestId, String token) {
    await(
        () ->
            post(
                        "/api/skips",
                        token,
                        new JsonObject()
                            .put("requestId", requestId)
                            .put("labelerId", "probe")
                            .encode())
                    .status()
                == 204,
        "the gateway to read request " + requestId);
  }

  /**
   * Every comparison on the topic now, read to the end offset: a 2xx from the gateway means the
   * broker acknowledged the record, so it is there without waiting.
   */
  List<Comparison> comparisons() {
    try (var consumer =
        new KafkaConsumer<byte[], byte[]>(
            KafkaClientConfigs.weightsConsumer(kafka, "test-comparison-reader"))) {
      var partitions =
          consumer.partitionsFor(Topics.COMPARISONS, DEADLINE).stream()
              .map(p -> new TopicPartition(p.topic(), p.partition()))
              .toList();
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      var ends = consumer.endOffsets(partitions, DEADLINE);
      var read = new ArrayList<Comparison>();
      long deadline = System.nanoTime() + DEADLINE.toNanos();
      while (partitions.stream().anyMatch(p -> consumer.position(p, DEADLINE) < ends.get(p))) {
        if (System.nanoTime() > deadline)
          throw new AssertionError("could not read " + Topics.COMPARISONS + " to " + ends);
        consumer.poll(Duration.ofMillis(200)).forEach(r -> read.add(COMPARISONS.decode(r.value())));
      }
      return read;
    }
  }

  List<Comparison> comparisonsFor(String requestId) {
    return comparisons().stream().filter(c -> requestId.equals(c.getRequestId())).toList();
  }

  /** Polls a condition until it holds, failing after {@link #DEADLINE}. */
  static void await(BooleanSupplier condition, String what) {
    long deadline = System.nanoTime() + DEADLINE.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline)
        throw new AssertionError(
            "timed out after " + DEADLINE.toSeconds() + " s waiting for " + what);
      try {
        Thread.sleep(50); // polling a condition with a deadline, not a fixed wait
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new AssertionError("interrupted waiting for " + what);
      }
    }
  }
}
