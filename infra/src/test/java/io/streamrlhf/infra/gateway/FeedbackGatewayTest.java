package io.streamrlhf.infra.gateway;

import static io.streamrlhf.infra.gateway.GatewayClient.request;
import static org.assertj.core.api.Assertions.assertThat;

import io.streamrlhf.actors.gateway.GatewayNode;
import io.streamrlhf.actors.gateway.GatewaySettings;
import io.streamrlhf.infra.kafka.EmbeddedKafka;
import io.streamrlhf.infra.kafka.TopicProvisioner;
import io.streamrlhf.schemas.Comparison;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The feedback gateway against a real broker, from outside: every status of its API, a retried
 * submission written once, and Label Studio's and Argilla's documented webhook payloads read back
 * from {@code rlhf.comparisons} as the right comparisons.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class FeedbackGatewayTest {
  private static final String TOKEN = "test-token-0123456789";
  private static final String LABEL_STUDIO_TOKEN = "label-studio-token-42";
  private static final byte[] ARGILLA_KEY =
      "argilla webhook key, 32 bytes ok".getBytes(StandardCharsets.UTF_8);
  private static final String ARGILLA_SECRET =
      "whsec_" + Base64.getEncoder().encodeToString(ARGILLA_KEY);
  private static final int MAX_BODY = 4096;

  private EmbeddedKafka kafka;
  private Vertx vertx;
  private GatewayNode node;
  private GatewayClient client;

  @BeforeAll
  void start() {
    kafka = EmbeddedKafka.start();
    TopicProvisioner.provision(kafka.bootstrapServers(), Duration.ofSeconds(30));
    vertx = Vertx.vertx();
    node =
        GatewayNode.deploy(
            vertx,
            GatewaySettings.of(kafka.bootstrapServers(), 0, TOKEN)
                .withLabelStudioToken(LABEL_STUDIO_TOKEN)
                .withArgillaSecret(ARGILLA_SECRET)
                .withMaxBodyBytes(MAX_BODY)
                .withAckTimeout(Duration.ofSeconds(5)),
            line -> {});
    client = new GatewayClient(node.url(), kafka.bootstrapServers());
    client.awaitReady(TOKEN);
  }

  @AfterAll
  void stop() {
    if (node != null) node.stop();
    if (vertx != null) vertx.close().await();
    if (kafka != null) kafka.close();
  }

  private String published(String... responses) throws Exception {
    var id = "r-" + UUID.randomUUID();
    client.publish(request(id, responses));
    client.awaitKnown(id, TOKEN);
    return id;
  }

  private static String submission(String requestId, List<Integer> ranks, String labeler) {
    return new JsonObject()
        .put("requestId", requestId)
        .put("ranks", new JsonArray(List.copyOf(ranks)))
        .put("labelerId", labeler)
        .encode();
  }

  /** {@link #submission}'s body with one more field. */
  private static String submission(
      String requestId, List<Integer> ranks, String labeler, String field, String value) {
    return new JsonObject(submission(requestId, ranks, labeler)).put(field, value).encode();
  }

  /** A refusal says why in one line of JSON and nothing of the gateway's insides. */
  private static void assertOneLineReason(GatewayClient.Reply r, int status, String reason) {
    assertThat(r.status()).as(r.body()).isEqualTo(status);
    assertThat(r.header("Content-Type")).startsWith("application/json");
    var error = r.json().getString("error");
    assertThat(error).containsIgnoringCase(reason).doesNotContain("\n");
    assertThat(r.body()).doesNotContain("Exception").doesNotContain("\tat ").doesNotContain("io.");
  }

  @Test
  void everyApiCallNeedsTheBearerToken() throws Exception {
    var id = published("cba", "abc");
    var body = submission(id, List.of(0, 1), "alice");
    var missing = client.post("/api/comparisons", null, body);
    assertOneLineReason(missing, 401, "missing bearer token");
    assertThat(missing.header("WWW-Authenticate")).startsWith("Bearer");
    assertOneLineReason(client.post("/api/comparisons", "not-the-token", body), 401, "wrong");
    assertOneLineReason(client.get("/api/status", null), 401, "bearer");
    assertOneLineReason(client.get("/api/requests/next?labeler=a", "x"), 401, "wrong");
    assertThat(client.comparisonsFor(id)).isEmpty();
  }

  @Test
  void aStopLetsARankingAlreadyBeingSentFinishAndStoresIt() throws Exception {
    // Ctrl-C used to close every connection at once: a client whose ranking was on its way got a
    // reset connection, not knowing whether it was stored
    var stopping =
        GatewayNode.deploy(
            vertx, GatewaySettings.of(kafka.bootstrapServers(), 0, TOKEN), line -> {});
    try {
      var own = new GatewayClient(stopping.url(), kafka.bootstrapServers());
      own.awaitReady(TOKEN);
      var id = "r-" + UUID.randomUUID();
      own.publish(request(id, "cba", "abc"));
      own.awaitKnown(id, TOKEN);
      var body = submission(id, List.of(1, 0), "erin").getBytes(StandardCharsets.UTF_8);
      try (var socket = new Socket("127.0.0.1", stopping.port())) {
        socket.setSoTimeout((int) GatewayClient.DEADLINE.toMillis());
        var out = socket.getOutputStream();
        var in =
            new BufferedReader(
                new InputStreamReader(socket.getInputStream(), StandardCharsets.ISO_8859_1));
        var head =
            "POST /api/comparisons HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer "
                + TOKEN
                + "\r\nContent-Type: application/json\r\nContent-Length: "
                + body.length
                + "\r\nExpect: 100-continue\r\n\r\n";
        out.write(head.getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
        // the interim answer says the gateway is handling the request: it is in flight
        assertThat(in.readLine()).startsWith("HTTP/1.1 100");
        assertThat(in.readLine()).isEmpty();
        var stopped = CompletableFuture.runAsync(stopping::stop);
        GatewayClient.await(() -> !listening(stopping.port()), "the gateway to stop listening");
        out.write(body);
        out.flush();
        assertThat(in.readLine()).startsWith("HTTP/1.1 201");
        var headers = new ArrayList<String>();
        for (var line = in.readLine(); line != null && !line.isEmpty(); line = in.readLine())
          headers.add(line.toLowerCase(java.util.Locale.ROOT));
        // the next call must not follow on this connection, which the stopping server would drop
        assertThat(headers).contains("connection: close");
        stopped.get(GatewayClient.DEADLINE.toSeconds(), TimeUnit.SECONDS);
      }
      var stored = client.comparisonsFor(id);
      assertThat(stored).hasSize(1);
      assertThat(stored.get(0).getLabelerId()).isEqualTo("erin");
    } finally {
      stopping.stop();
    }
  }

  /** /api/status with {@code query} sent byte for byte as UTF-8, as curl sends what it is given. */
  private JsonObject statusAsSent(String query) throws IOException {
    try (var socket = new Socket("127.0.0.1", node.port())) {
      socket.setSoTimeout((int) GatewayClient.DEADLINE.toMillis());
      socket
          .getOutputStream()
          .write(
              ("GET /api/status?"
                      + query
                      + " HTTP/1.1\r\nHost: gateway\r\nAuthorization: Bearer "
                      + TOKEN
                      + "\r\nConnection: close\r\n\r\n")
                  .getBytes(StandardCharsets.UTF_8));
      var reply = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(reply).as(query).startsWith("HTTP/1.1 200");
      return new JsonObject(reply.substring(reply.indexOf("\r\n\r\n") + 4));
    }
  }

  private static boolean listening(int port) {
    try (var probe = new Socket("127.0.0.1", port)) {
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  @Test
  void aLabelersNameMayBeInAnyScriptAndIsStoredInOneSpelling() throws Exception {
    // "José" typed with a combining accent is the same labeler as with a precomposed é, and
    // "ｍｅｉ" typed in full width the same as "mei"
    var spelled =
        List.of(
            List.of("Jose\u0301", "José"),
            List.of("李雷", "李雷"),
            List.of("ｍｅｉ", "mei"),
            // NFKC would spell ½ with a fraction slash, which no name may hold: it stays ½
            List.of("team½", "team½"));
    for (var name : spelled) {
      var id = published("cba", "abc");
      var posted =
          client.post("/api/comparisons", TOKEN, submission(id, List.of(1, 0), name.get(0)));
      assertThat(posted.status()).as(name + ": " + posted.body()).isEqualTo(201);
      assertThat(client.comparisonsFor(id).get(0).getLabelerId()).isEqualTo(name.get(1));
    }
    assertThat(client.get("/api/status?labeler=Jos%C3%A9", TOKEN).json().getLong("mine"))
        .isEqualTo(1);
    // curl sends a name in the query as its UTF-8 bytes, not percent-encoded
    var raw = statusAsSent("labeler=José");
    assertThat(raw.getString("labeler")).isEqualTo("José");
    assertThat(raw.getLong("mine")).isEqualTo(1);
    // percent-encoded, beside a raw byte elsewhere in the query: read as encoded
    assertThat(statusAsSent("labeler=Jos%C3%A9&note=é").getString("labeler")).isEqualTo("José");
    var id = published("cba", "abc");
    assertOneLineReason(
        client.post("/api/comparisons", TOKEN, submission(id, List.of(1, 0), "José Díaz")),
        400,
        "labelerId must be 1-100 characters of letters, digits and ._@/+:-");
  }

  @Test
  void aJsonBodySentAsAFormIsReadAsJsonWhateverItsLength() throws Exception {
    // curl -d says application/x-www-form-urlencoded; the server's form decoder refused a field
    // over 1 KiB, which was a 500
    var id = published("cba", "abc");
    var body = submission(id, List.of(1, 0), "dave", "note", "x&y=z ".repeat(400));
    assertThat(body.length()).isBetween(2048, MAX_BODY);
    var posted =
        client.postAs("application/x-www-form-urlencoded", "/api/comparisons", TOKEN, body);
    assertThat(posted.status()).as(posted.body()).isEqualTo(201);
    assertThat(client.comparisonsFor(id)).hasSize(1);
  }

  @Test
  void thePagesFilesAnswerHeadWithGetsHeadersAndNoBody() {
    for (var path : List.of("/", "/page.js", "/page.css")) {
      var get = client.get(path, null);
      var head = client.head(path);
      assertThat(get.status()).as(path).isEqualTo(200);
      assertThat(get.body()).as(path).isNotEmpty();
      assertThat(head.status()).as(path).isEqualTo(200);
      assertThat(head.body()).as(path).isEmpty();
      for (var header : List.of("Content-Type", "Content-Length", "Content-Security-Policy"))
        assertThat(head.header(header)).as(path + " " + header).isEqualTo(get.header(header));
    }
  }

  @Test
  void aBodyOverTheLimitIs413() throws Exception {
    var id = published("cba", "abc");
    var padded = submission(id, List.of(0, 1), "alice", "note", "x".repeat(MAX_BODY));
    assertOneLineReason(client.post("/api/comparisons", TOKEN, padded), 413, "over 4096 bytes");
    // chunked, as a form (curl --data-binary @file): Netty's form decoder refuses it, not the limit
    assertOneLineReason(
        client.postChunkedAs(
            "application/x-www-form-urlencoded", "/api/comparisons", TOKEN, padded),
        413,
        "over 4096 bytes");
    // the same as a form with a field: its value is over the attribute size
    assertOneLineReason(
        client.postChunkedAs(
            "application/x-www-form-urlencoded",
            "/api/comparisons",
            TOKEN,
            "note=" + "x".repeat(MAX_BODY)),
        413,
        "over 4096 bytes");
    assertThat(client.comparisonsFor(id)).isEmpty();
  }

  @Test
  void badInputIs400WithAOneLineReason() throws Exception {
    var id = published("cba", "abc", "bca");
    assertOneLineReason(
        client.post("/api/comparisons", TOKEN, "{\"requestId\": \"" + id + "\", \"ranks\": [0,"),
        400,
        "malformed JSON");
    assertOneLineReason(
        client.post(
            "/api/comparisons", TOKEN, submission("r-never-published", List.of(0, 1, 2), "alice")),
        400,
        "unknown request id");
    assertOneLineReason(
        client.post("/api/comparisons", TOKEN, submission(id, List.of(0, 1), "alice")),
        400,
        "3 answers");
    // a field given twice: JSON parsers keep one of the two, and the labeler meant one of them
    assertOneLineReason(
        client.post(
            "/api/comparisons",
            TOKEN,
            "{\"requestId\": \""
                + id
                + "\", \"ranks\": [0, 1, 2], \"ranks\": [2, 1, 0], \"labelerId\": \"alice\"}"),
        400,
        "malformed JSON: Duplicate field 'ranks'");
    // the tools' and the simulated labelers' ids are theirs: a person posting as one would turn
    // their own ranking of this request away as a second answer
    for (var taken : List.of("simulated-3", "g2/simulated-1", "label-studio/a@b.c", "argilla/ann"))
      assertOneLineReason(
          client.post("/api/comparisons", TOKEN, submission(id, List.of(0, 1, 2), taken)),
          400,
          "labelerId " + taken + " is the kind of id the labeling tools' webhooks");
    assertOneLineReason(
        client.post("/api/comparisons", TOKEN, submission(id, List.of(0, 1, 3), "alice")),
        400,
        "outside 0..2");
    assertOneLineReason(
        client.post(
            "/api/comparisons",
            TOKEN,
            "{\"requestId\": \"" + id + "\", \"ranks\": [0, 0.5, 1], \"labelerId\": \"alice\"}"),
        400,
        "not a whole number");
    // a string is quoted as sent, not shown as the number it spells
    assertOneLineReason(
        client.post(
            "/api/comparisons",
            TOKEN,
            "{\"requestId\": \"" + id + "\", \"ranks\": [\"0\", 1, 2], \"labelerId\": \"alice\"}"),
        400,
        "ranks[0] is not a whole number: \"0\"");
    assertOneLineReason(
        client.post("/api/comparisons", TOKEN, submission(id, List.of(0, 1, 2), "")),
        400,
        "labelerId");
    // sent as a form, a % that starts no escape: still read as the JSON it is
    assertOneLineReason(
        client.postAs(
            "application/x-www-form-urlencoded",
            "/api/comparisons",
            TOKEN,
            "{\"requestId\": \"" + id + "\", \"note\": \"50%zz\"}"),
        400,
        "labelerId");
    // multipart, of any shape (an empty boundary was a 500, a part without a name the decoder's
    // NullPointerException in the reply): refused before it is decoded, chunked or not
    for (var type :
        List.of("multipart/form-data; boundary=", "Multipart/Form-Data; boundary=b0undary")) {
      var part = "--b0undary\r\nContent-Disposition: bogus\r\n\r\nx\r\n--b0undary--\r\n";
      assertOneLineReason(
          client.postAs(type, "/api/comparisons", TOKEN, part), 415, "multipart body is not read");
      assertOneLineReason(
          client.postChunkedAs(type, "/webhooks/argilla", null, part),
          415,
          "multipart body is not read");
      // the credentials first, as for any other body
      assertOneLineReason(
          client.postAs(type, "/webhooks/label-studio", TOKEN, part), 401, "wrong token");
      assertOneLineReason(
          client.postAs(type, "/webhooks/label-studio", LABEL_STUDIO_TOKEN, part),
          415,
          "multipart body is not read");
    }
    // a GET says nothing of a body: its Content-Type is not read
    assertThat(
            client
                .getAs("multipart/form-data; boundary=", "/api/requests/next?labeler=zed", TOKEN)
                .status())
        .isIn(200, 204);
    // a number where an id belongs is named as such, not as missing
    assertOneLineReason(
        client.post(
            "/api/comparisons",
            TOKEN,
            "{\"requestId\": 5, \"ranks\": [0, 1, 2], \"labelerId\": \"alice\"}"),
        400,
        "requestId must be a string");
    assertOneLineReason(
        client.post(
            "/api/comparisons",
            TOKEN,
            "{\"requestId\": \"" + id + "\", \"ranks\": [0, 1, 2], \"labelerId\": 42}"),
        400,
        "labelerId must be a string");
    assertThat(client.comparisonsFor(id)).isEmpty();
    // a skip names its request too: one the gateway never read is refused, not quietly taken
    assertOneLineReason(
        client.post(
            "/api/skips",
            TOKEN,
            new JsonObject()
                .put("requestId", "r-never-published")
                .put("labelerId", "alice")
                .encode()),
        400,
        "unknown request id r-never-published");
    // an endpoint called with another method is named with the one it takes
    var wrongMethod = client.post("/api/status", TOKEN, "{}");
    assertOneLineReason(wrongMethod, 405, "/api/status takes GET, not POST");
    assertThat(wrongMethod.header("Allow")).isEqualTo("GET");
    assertOneLineReason(client.get("/api/comparisons", TOKEN), 405, "takes POST, not GET");
    assertOneLineReason(client.get("/api/nothing-here", TOKEN), 404, "no such endpoint");

    var ok = client.post("/api/comparisons", TOKEN, submission(id, List.of(1, 0, 1), "alice"));
    assertThat(ok.status()).as(ok.body()).isEqualTo(201);
    assertOneLineReason(
        client.post("/api/comparisons", TOKEN, submission(id, List.of(0, 1, 2), "alice")),
        400,
        "already answered by labeler alice");
    assertThat(client.comparisonsFor(id)).hasSize(1);
  }

  @Test
  void aRetryWithTheSameIdempotencyKeyIsAnsweredAgainAndWrittenOnce() throws Exception {
    var id = published("cba", "abc", "cab");
    var body = submission(id, List.of(2, 0, 1), "bob");
    var first = client.post("/api/comparisons", TOKEN, body, "Idempotency-Key", "key-1");
    var retry = client.post("/api/comparisons", TOKEN, body, "Idempotency-Key", "key-1");
    assertThat(first.status()).as(first.body()).isEqualTo(201);
    assertThat(retry.status()).isEqualTo(201);
    assertThat(retry.body()).isEqualTo(first.body());
    assertOneLineReason(
        client.post(
            "/api/comparisons",
            TOKEN,
            submission(id, List.of(0, 1, 2), "bob"),
            "Idempotency-Key",
            "key-1"),
        400,
        "already used for another ranking");

    var written = client.comparisonsFor(id);
    assertThat(written).hasSize(1);
    Comparison c = written.get(0);
    assertThat(c.getComparisonId()).isEqualTo(first.json().getString("comparisonId"));
    assertThat(c.getPromptId()).isEqualTo("prompt-" + id);
    assertThat(c.getPromptText()).isEqualTo("Reverse abc.\n");
    assertThat(c.getResponses()).containsExactly("cba", "abc", "cab");
    assertThat(c.getRanks()).containsExactly(2, 0, 1);
    assertThat(c.getLabelerId()).isEqualTo("bob");
    assertThat(c.getKind()).isEqualTo("human");
    assertThat(c.getIdempotencyKey()).isEqualTo("key-1");
    assertThat(c.getCreatedAt()).isAfter(Instant.now().minusSeconds(60));

    var status = client.get("/api/status?labeler=bob", TOKEN).json();
    assertThat(status.getLong("mine")).isEqualTo(1);
    assertThat(status.getJsonObject("labelers").getLong("bob")).isEqualTo(1);
  }

  @Test
  void aKeyAlreadyWrittenForOneRequestIsRefusedForAnotherWithTheSameRanks() throws Exception {
    // the same ranks, the same labeler and key, another request: answering with A's 201 would
    // lose B's ranking without a word (fay, not bob, whose count another test checks)
    var a = published("cba", "abc");
    var b = published("cba", "abc");
    var first =
        client.post(
            "/api/comparisons", TOKEN, submission(a, List.of(1, 0), "fay"), "Idempotency-Key", "k");
    assertThat(first.status()).as(first.body()).isEqualTo(201);
    assertOneLineReason(
        client.post(
            "/api/comparisons", TOKEN, submission(b, List.of(1, 0), "fay"), "Idempotency-Key", "k"),
        400,
        "idempotency key 'k' was already used for another ranking; use a new key");
    assertThat(client.comparisonsFor(b)).isEmpty();
    assertThat(client.comparisonsFor(a)).hasSize(1);
  }

  @Test
  void anIdempotencyKeyInTheHeaderAndAnotherInTheBodyIs400() throws Exception {
    // which of the two the client meant is not for the gateway to guess
    var id = published("cba", "abc");
    var body = submission(id, List.of(1, 0), "gus", "idempotencyKey", "b");
    assertOneLineReason(
        client.post("/api/comparisons", TOKEN, body, "Idempotency-Key", "a"),
        400,
        "the Idempotency-Key header and idempotencyKey differ");
    assertThat(client.comparisonsFor(id)).isEmpty();
  }

  @Test
  void nextOffersEachWaitingRequestUntilAnsweredOrSkippedThen204() throws Exception {
    var id = published("one", "two");
    var seen = new java.util.ArrayList<String>();
    while (true) {
      var next = client.get("/api/requests/next?labeler=carol", TOKEN);
      if (next.status() == 204) break;
      assertThat(next.status()).as(next.body()).isEqualTo(200);
      var r = next.json();
      seen.add(r.getString("requestId"));
      if (r.getString("requestId").equals(id)) {
        assertThat(r.getString("prompt")).isEqualTo("Reverse abc.\n");
        assertThat(r.getJsonArray("responses").getList()).containsExactly("one", "two");
        assertThat(r.getLong("policyVersion")).isEqualTo(7);
      }
      var skip =
          client.post(
              "/api/skips",
              TOKEN,
              new JsonObject()
                  .put("requestId", r.getString("requestId"))
                  .put("labelerId", "carol")
                  .encode());
      assertThat(skip.status()).isEqualTo(204);
    }
    assertThat(seen).contains(id).doesNotHaveDuplicates();
    // the query's parameter is named as sent: labeler, not the body's labelerId
    assertOneLineReason(
        client.get("/api/requests/next", TOKEN), 400, "labeler must be 1-100 characters");
  }

  @Test
  void aLabelStudioAnnotationBecomesAComparisonOnce() throws Exception {
    var id = published("cba", "abc", "bca");
    var payload =
        new JsonObject()
            .put("action", "ANNOTATION_CREATED")
            .put(
                "annotation",
                new JsonObject()
                    .put("id", 4711)
                    .put(
                        "result",
                        new JsonArray()
                            .add(
                                new JsonObject()
                                    .put("id", "WArqkkifYE")
                                    .put("from_name", "rank")
                                    .put("to_name", "answers")
                                    .put("type", "ranker")
                                    .put("origin", "manual")
                                    .put(
                                        "value",
                                        new JsonObject()
                                            .put(
                                                "ranker",
                                                new JsonObject()
                                                    .put(
                                                        "rank",
                                                        new JsonArray()
                                                            .add("answer-2")
                                                            .add("answer-0")
                                                            .add("answer-1"))))))
                    .put("was_cancelled", false)
                    .put("ground_truth", false)
                    .put("created_at", "2021-08-17T13:52:48.536303Z")
                    .put("lead_time", 37.13)
                    .put("task", 19)
                    .put("completed_by", 3))
            .put(
                "task",
                new JsonObject()
                    .put("id", 19)
                    .put(
                        "data",
                        new JsonObject()
                            .put("requestId", id)
                            .put("prompt", "Reverse abc.")
                            .put(
                                "items",
                                new JsonArray()
                                    .add(new JsonObject().put("id", "answer-0").put("body", "cba"))
                                    .add(new JsonObject().put("id", "answer-1").put("body", "abc"))
                                    .add(
                                        new JsonObject().put("id", "answer-2").put("body", "bca"))))
                    .put("is_labeled", true)
                    .put("project", 2))
            .put("project", new JsonObject().put("id", 2).put("title", "rlhf"))
            .encode();

    assertOneLineReason(client.post("/webhooks/label-studio", TOKEN + "x", payload), 401, "token");
    // a task imported with its first two answers swapped: its ranks would go to the wrong answers
    var swapped =
        payload
            .replace("\"id\":\"answer-0\",\"body\":\"cba\"", "\"id\":\"answer-0\",\"body\":\"abc\"")
            .replace(
                "\"id\":\"answer-1\",\"body\":\"abc\"", "\"id\":\"answer-1\",\"body\":\"cba\"");
    assertThat(swapped).isNotEqualTo(payload);
    assertOneLineReason(
        client.post("/webhooks/label-studio", LABEL_STUDIO_TOKEN, swapped),
        400,
        "task.data.items[0].body is not answer 0 of request " + id);
    var first = client.post("/webhooks/label-studio", LABEL_STUDIO_TOKEN, payload);
    var redelivered = client.post("/webhooks/label-studio", LABEL_STUDIO_TOKEN, payload);
    assertThat(first.status()).as(first.body()).isEqualTo(201);
    assertThat(redelivered.body()).isEqualTo(first.body());

    var written = client.comparisonsFor(id);
    assertThat(written).hasSize(1);
    var c = written.get(0);
    assertThat(c.getRanks()).containsExactly(1, 2, 0);
    assertThat(c.getResponses()).containsExactly("cba", "abc", "bca");
    assertThat(c.getKind()).isEqualTo("label-studio");
    assertThat(c.getLabelerId()).isEqualTo("label-studio/3");
    assertThat(c.getIdempotencyKey()).isEqualTo("4711");
  }

  @Test
  void aSignedArgillaResponseBecomesAComparisonAndABadSignatureIs401() throws Exception {
    var id = published("cba", "abc", "bca", "acb");
    var ranking = new JsonArray();
    int[] argillaRanks = {3, 1, 1, 2}; // answer 0 worst, 1 and 2 tie for best
    for (int i = 0; i < argillaRanks.length; i++)
      ranking.add(new JsonObject().put("value", Integer.toString(i)).put("rank", argillaRanks[i]));
    var body =
        new JsonObject()
            .put("type", "response.created")
            .put("version", 1)
            .put("timestamp", "2024-09-26T14:05:30.182364Z")
            .put(
                "data",
                new JsonObject()
                    .put("id", "7164a58e-3611-4b0a-98cc-9184bc92dc5a")
                    .put(
                        "values",
                        new JsonObject().put("ranking", new JsonObject().put("value", ranking)))
                    .put("status", "submitted")
                    .put(
                        "record",
                        new JsonObject()
                            .put("id", "88654411-4eec-4d17-ad73-e5baf59d0efb")
                            .put("status", "pending")
                            .put("fields", new JsonObject().put("prompt", "Reverse abc."))
                            .put("metadata", new JsonObject())
                            .put("external_id", id)
                            .put("dataset", new JsonObject().put("name", "rlhf")))
                    .put(
                        "user",
                        new JsonObject()
                            .put("id", "df114042-958d-42c6-9f03-ab49bd451c6c")
                            .put("username", "dave")
                            .put("role", "annotator")))
            .encode();

    long now = Instant.now().getEpochSecond();
    var forged =
        sign("msg_1", now, body, "a different key entirely".getBytes(StandardCharsets.UTF_8));
    assertOneLineReason(
        client.post(
            "/webhooks/argilla",
            null,
            body,
            "webhook-id",
            "msg_1",
            "webhook-timestamp",
            Long.toString(now),
            "webhook-signature",
            forged),
        401,
        "does not match");
    assertOneLineReason(client.post("/webhooks/argilla", null, body), 401, "missing webhook-id");

    var signature = sign("msg_1", now, body, ARGILLA_KEY);
    var ok =
        client.post(
            "/webhooks/argilla",
            null,
            body,
            "webhook-id",
            "msg_1",
            "webhook-timestamp",
            Long.toString(now),
            "webhook-signature",
            signature);
    assertThat(ok.status()).as(ok.body()).isEqualTo(201);
    var written = client.comparisonsFor(id);
    assertThat(written).hasSize(1);
    var c = written.get(0);
    assertThat(c.getRanks()).containsExactly(2, 0, 0, 1);
    assertThat(c.getKind()).isEqualTo("argilla");
    assertThat(c.getLabelerId()).isEqualTo("argilla/dave");
    assertThat(c.getIdempotencyKey()).isEqualTo("7164a58e-3611-4b0a-98cc-9184bc92dc5a");

    // record.completed carries no ranking: it only tells the gateway the request needs no more
    var second = published("x", "y");
    var completed =
        new JsonObject()
            .put("type", "record.completed")
            .put("version", 1)
            .put("timestamp", "2024-09-26T14:05:30.236958Z")
            .put(
                "data",
                new JsonObject()
                    .put("id", "r2")
                    .put("status", "completed")
                    .put("external_id", second))
            .encode();
    var done =
        client.post(
            "/webhooks/argilla",
            null,
            completed,
            "webhook-id",
            "msg_2",
            "webhook-timestamp",
            Long.toString(now),
            "webhook-signature",
            sign("msg_2", now, completed, ARGILLA_KEY));
    assertThat(done.status()).as(done.body()).isEqualTo(200);
    assertThat(done.json().getString("completed")).isEqualTo(second);
    assertThat(client.comparisonsFor(second)).isEmpty();
  }

  /**
   * A response saved as a draft is submitted as Argilla's response.updated: that submission is the
   * ranking. A later edit of it is acknowledged (Argilla would retry a refusal) and the first
   * stands.
   */
  @Test
  void anArgillaDraftSubmittedLaterIsCountedOnceAndAnEditIsLeftAlone() throws Exception {
    var id = published("cba", "abc", "bca");
    var responseId = "0b6e1f7a-draft-then-submit";
    var draft =
        postArgilla(
            "msg_d1", argillaResponse("response.created", "draft", responseId, id, 2, 1, 3));
    assertThat(draft.status()).as(draft.body()).isEqualTo(200);
    assertThat(draft.json().getString("ignored")).contains("draft");

    var submitted =
        postArgilla(
            "msg_d2", argillaResponse("response.updated", "submitted", responseId, id, 2, 1, 3));
    assertThat(submitted.status()).as(submitted.body()).isEqualTo(201);
    var written = client.comparisonsFor(id);
    assertThat(written).hasSize(1);
    assertThat(written.get(0).getRanks()).containsExactly(1, 0, 2);
    assertThat(written.get(0).getLabelerId()).isEqualTo("argilla/erin");

    var edited =
        postArgilla(
            "msg_d3", argillaResponse("response.updated", "submitted", responseId, id, 1, 2, 3));
    assertThat(edited.status()).as(edited.body()).isEqualTo(200);
    assertThat(edited.json().getString("ignored"))
        .contains(written.get(0).getComparisonId())
        .endsWith("the first ranking stands");
    var again =
        postArgilla(
            "msg_d4", argillaResponse("response.updated", "submitted", responseId, id, 2, 1, 3));
    assertThat(again.status()).as(again.body()).isEqualTo(201);
    assertThat(client.comparisonsFor(id)).hasSize(1);
  }

  private static String argillaResponse(
      String type, String status, String responseId, String requestId, int... argillaRanks) {
    var ranking = new JsonArray();
    for (int i = 0; i < argillaRanks.length; i++)
      ranking.add(new JsonObject().put("value", Integer.toString(i)).put("rank", argillaRanks[i]));
    return new JsonObject()
        .put("type", type)
        .put("version", 1)
        .put("timestamp", "2024-09-26T14:05:30.182364Z")
        .put(
            "data",
            new JsonObject()
                .put("id", responseId)
                .put(
                    "values",
                    new JsonObject().put("ranking", new JsonObject().put("value", ranking)))
                .put("status", status)
                .put(
                    "record",
                    new JsonObject().put("id", "rec-" + requestId).put("external_id", requestId))
                .put("user", new JsonObject().put("id", "u-erin").put("username", "erin")))
        .encode();
  }

  private GatewayClient.Reply postArgilla(String messageId, String body) throws Exception {
    long now = Instant.now().getEpochSecond();
    return client.post(
        "/webhooks/argilla",
        null,
        body,
        "webhook-id",
        messageId,
        "webhook-timestamp",
        Long.toString(now),
        "webhook-signature",
        sign(messageId, now, body, ARGILLA_KEY));
  }

  /** Standard Webhooks' signature, computed here independently of the gateway's code. */
  private static String sign(String id, long timestamp, String body, byte[] key) throws Exception {
    var mac = Mac.getInstance("HmacSHA256");
    mac.init(new SecretKeySpec(key, "HmacSHA256"));
    var digest = mac.doFinal((id + "." + timestamp + "." + body).getBytes(StandardCharsets.UTF_8));
    return "v1," + Base64.getEncoder().encodeToString(digest);
  }

  @Test
  void corsIsOffUnlessAnOriginIsConfiguredAndBeyondTheRateLimitIs429() {
    var origin = "https://labels.example.org";
    var plain = client.get("/api/status", TOKEN);
    assertThat(plain.status()).isEqualTo(200);
    assertThat(plain.header("Access-Control-Allow-Origin")).isNull();
    assertThat(
            client
                .post("/api/skips", TOKEN, "{}", "Origin", origin)
                .header("Access-Control-Allow-Origin"))
        .isNull();

    var limited =
        GatewayNode.deploy(
            vertx,
            GatewaySettings.of(kafka.bootstrapServers(), 0, TOKEN)
                .withCorsOrigin(origin)
                .withRatePerMinute(3),
            line -> {});
    try {
      var other = new GatewayClient(limited.url(), kafka.bootstrapServers());
      var first = other.post("/api/skips", TOKEN, "{}", "Origin", origin);
      assertThat(first.header("Access-Control-Allow-Origin")).isEqualTo(origin);
      assertThat(other.get("/api/status", TOKEN).status()).isEqualTo(200);
      assertThat(other.get("/api/status", TOKEN).status()).isEqualTo(200);
      var refused = other.get("/api/status", TOKEN);
      assertOneLineReason(refused, 429, "rate limit of 3 calls a minute");
      assertThat(Long.parseLong(refused.header("Retry-After"))).isBetween(1L, 60L);
      assertOneLineReason(other.post("/webhooks/label-studio", TOKEN, "{}"), 429, "rate limit");
      assertThat(client.get("/api/status", TOKEN).status())
          .as("another gateway's limit")
          .isEqualTo(200);
    } finally {
      limited.stop();
    }
  }

  @Test
  void aRestartedGatewayTakesNoRankingUntilItHasReadWhatWasAnsweredBeforeIt() throws Exception {
    // a gateway restarted on topics that hold thousands of rankings: until it has read them all,
    // offering alice a request she ranked, or taking her ranking of it again, would double it
    int answered = 3000;
    try (var backlog = EmbeddedKafka.start()) {
      // made by hand with three partitions each, which provisioning leaves as they are: the
      // gateway must read every one, not only those the loop's own topics have
      try (var admin =
          org.apache.kafka.clients.admin.Admin.create(
              java.util.Map.<String, Object>of("bootstrap.servers", backlog.bootstrapServers()))) {
        admin
            .createTopics(
                List.of(
                    new org.apache.kafka.clients.admin.NewTopic(
                        io.streamrlhf.schemas.Topics.LABEL_REQUESTS, 3, (short) 1),
                    new org.apache.kafka.clients.admin.NewTopic(
                        io.streamrlhf.schemas.Topics.COMPARISONS, 3, (short) 1)))
            .all()
            .get();
      }
      TopicProvisioner.provision(backlog.bootstrapServers(), Duration.ofSeconds(30));
      var requests = new java.util.ArrayList<io.streamrlhf.schemas.LabelRequest>();
      var comparisons = new java.util.ArrayList<Comparison>();
      for (int i = 0; i < answered; i++) {
        var r = request("b-" + i, "cba", "abc");
        requests.add(r);
        comparisons.add(
            Comparison.newBuilder()
                .setComparisonId("cmp-b-" + i)
                .setRequestId(r.getRequestId())
                .setPromptId(r.getPromptId())
                .setPromptText(r.getPromptText())
                .setResponses(r.getResponses())
                .setRanks(List.of(1, 0))
                .setLabelerId("alice")
                .setKind("human")
                .setCreatedAt(Instant.now())
                .build());
      }
      new GatewayClient("http://unused/", backlog.bootstrapServers())
          .publishAll(requests, comparisons);

      // calls as fast as a script makes them, with no rate limit to refuse them first
      var restarted =
          GatewayNode.deploy(
              vertx,
              GatewaySettings.of(backlog.bootstrapServers(), 0, TOKEN).withRatePerMinute(1_000_000),
              line -> {});
      try {
        var again = new GatewayClient(restarted.url(), backlog.bootstrapServers());
        var ranking = submission("b-0", List.of(0, 1), "alice");
        long deadline = System.nanoTime() + GatewayClient.DEADLINE.toNanos();
        while (true) {
          assertThat(System.nanoTime()).as("the gateway to read its backlog").isLessThan(deadline);
          var next = again.get("/api/requests/next?labeler=alice", TOKEN);
          if (next.status() != 503) {
            assertThat(next.status())
                .as("alice ranked every request: " + next.body())
                .isEqualTo(204);
            break;
          }
          assertOneLineReason(next, 503, "from the beginning");
          assertThat(next.header("Retry-After")).isEqualTo("1");
          var taken = again.post("/api/comparisons", TOKEN, ranking);
          assertThat(taken.status()).as(taken.body()).isIn(503, 400);
        }
        var status = again.get("/api/status", TOKEN).json();
        assertThat(status.getBoolean("ready")).isTrue();
        assertThat(status.getLong("comparisons")).isEqualTo(answered);
        assertOneLineReason(
            again.post("/api/comparisons", TOKEN, ranking),
            400,
            "already answered by labeler alice");
        assertThat(again.comparisons()).hasSize(answered);
      } finally {
        restarted.stop();
      }
    }
  }

  @Test
  void whileItCannotReadTheTopicsTheStatusAndEvery503SayWhy(@TempDir Path logs) throws Exception {
    var options = EmbeddedKafka.Options.defaults().withDataDir(logs);
    var gone = EmbeddedKafka.start(options);
    var bootstrap = gone.bootstrapServers();
    int port = Integer.parseInt(bootstrap.replaceAll(".*:", ""));
    gone.close();
    var lines = new java.util.concurrent.CopyOnWriteArrayList<String>();
    var gateway = GatewayNode.deploy(vertx, GatewaySettings.of(bootstrap, 0, TOKEN), lines::add);
    EmbeddedKafka back = null;
    try {
      var client = new GatewayClient(gateway.url(), bootstrap);
      GatewayClient.await(
          () -> client.get("/api/status", TOKEN).json().getString("readerError") != null,
          "the status to say why the gateway is not ready");
      for (int i = 0; i < 10; i++) {
        // said for as long as it holds, not only between two rounds of the reader
        var status = client.get("/api/status", TOKEN).json();
        assertThat(status.getBoolean("ready")).isFalse();
        assertThat(status.getString("readerError")).isNotBlank();
        assertOneLineReason(
            client.get("/api/requests/next?labeler=alice", TOKEN), 503, "(reading fails for now: ");
      }
      // a webhook caller has shown no token yet: it is not told the broker's words, whatever
      // path it takes there
      for (var path : List.of("/webhooks/label-studio", "/api/../webhooks/argilla")) {
        var webhook = client.post(path, "wrong", "{}");
        assertThat(webhook.status()).as(path).isEqualTo(503);
        assertThat(webhook.body()).as(path).doesNotContain("reading fails");
      }

      back = EmbeddedKafka.start(options.withPort(port));
      // a broker without the loop's topics yet: said, and read once they are made
      GatewayClient.await(
          () ->
              String.valueOf(client.get("/api/status", TOKEN).json().getString("readerError"))
                  .contains("rlhf.label-requests does not exist"),
          "the status to say the topics are missing");
      TopicProvisioner.provision(bootstrap, Duration.ofSeconds(30));
      GatewayClient.await(
          () -> client.get("/api/status", TOKEN).json().getBoolean("ready"),
          "the gateway to read the topics once the broker is back");
      assertThat(client.get("/api/status", TOKEN).json().getString("readerError")).isNull();
      // the log, which said reading failed, says it reads again
      GatewayClient.await(
          () -> lines.contains("gateway: reading the feedback topics again"),
          "the log to say the gateway reads again");

      // and when the broker goes away later, a ready gateway says its book may be stale
      back.close();
      back = null;
      GatewayClient.await(
          () -> client.get("/api/status", TOKEN).json().getString("readerError") != null,
          "the status to say the topics cannot be read any more");
      assertThat(client.get("/api/status", TOKEN).json().getBoolean("ready")).isTrue();
    } finally {
      gateway.stop();
      if (back != null) back.close();
    }
  }

  @Test
  void aBrokerReplacedByAFreshOneEndsTheGatewayRatherThanMixTheirRequests(@TempDir Path logs)
      throws Exception {
    var first =
        EmbeddedKafka.start(EmbeddedKafka.Options.defaults().withDataDir(logs.resolve("a")));
    var bootstrap = first.bootstrapServers();
    int port = Integer.parseInt(bootstrap.replaceAll(".*:", ""));
    EmbeddedKafka fresh = null;
    var gateway = (GatewayNode) null;
    try {
      TopicProvisioner.provision(bootstrap, Duration.ofSeconds(30));
      gateway = GatewayNode.deploy(vertx, GatewaySettings.of(bootstrap, 0, TOKEN), line -> {});
      var client = new GatewayClient(gateway.url(), bootstrap);
      client.awaitReady(TOKEN);
      for (int i = 0; i < 3; i++) client.publish(request("old-" + i, "cba", "abc"));
      for (int i = 0; i < 3; i++) client.awaitKnown("old-" + i, TOKEN);

      // a fresh broker, no data of the first, at the same address: the gateway's book is of the
      // vanished cluster, and Kafka's consumer would quietly start over at offset 0
      first.close();
      first = null;
      fresh =
          EmbeddedKafka.start(
              EmbeddedKafka.Options.defaults().withDataDir(logs.resolve("b")).withPort(port));
      TopicProvisioner.provision(bootstrap, Duration.ofSeconds(30));
      client.publish(request("new-0", "cba", "abc"));

      var ended = gateway.ended();
      try {
        ended.get(GatewayClient.DEADLINE.toSeconds(), TimeUnit.SECONDS);
      } catch (java.util.concurrent.ExecutionException e) {
        assertThat(e.getCause())
            .hasMessageContaining("the broker or its topics were replaced")
            .hasMessageContaining("restart it");
      }
      assertThat(ended).isCompletedExceptionally();
    } finally {
      if (gateway != null) gateway.stop();
      if (first != null) first.close();
      if (fresh != null) fresh.close();
    }
  }

  @Test
  void aSubmissionTheBrokerDoesNotAcknowledgeIs503AndItsRetryLaterCountsOnce(@TempDir Path logs)
      throws Exception {
    var options = EmbeddedKafka.Options.defaults().withDataDir(logs);
    var outage = EmbeddedKafka.start(options);
    int port = Integer.parseInt(outage.bootstrapServers().replaceAll(".*:", ""));
    GatewayNode gateway = null;
    try {
      TopicProvisioner.provision(outage.bootstrapServers(), Duration.ofSeconds(30));
      gateway =
          GatewayNode.deploy(
              vertx,
              GatewaySettings.of(outage.bootstrapServers(), 0, TOKEN)
                  .withAckTimeout(Duration.ofSeconds(3)),
              line -> {});
      var other = new GatewayClient(gateway.url(), outage.bootstrapServers());
      var before = "r-" + UUID.randomUUID();
      var during = "r-" + UUID.randomUUID();
      other.publish(request(before, "cba", "abc"));
      other.publish(request(during, "cba", "abc"));
      other.awaitKnown(before, TOKEN);
      other.awaitKnown(during, TOKEN);
      var ok = other.post("/api/comparisons", TOKEN, submission(before, List.of(0, 1), "erin"));
      assertThat(ok.status()).as(ok.body()).isEqualTo(201);

      outage.close(); // the producer knows the broker: its send is in flight until it times out
      var body = submission(during, List.of(1, 0), "erin");
      var sending =
          java.util.concurrent.CompletableFuture.supplyAsync(
              () -> other.post("/api/comparisons", TOKEN, body, "Idempotency-Key", "k-outage"));
      GatewayClient.await(
          () -> other.get("/api/status", TOKEN).json().getInteger("sending") == 1,
          "the submission to wait for the broker");
      // the same key for another ranking while the first is in flight: refused, not given the
      // first's reply (which named only the first, and lost the second)
      assertOneLineReason(
          other.post(
              "/api/comparisons",
              TOKEN,
              submission(during, List.of(0, 1), "erin"),
              "Idempotency-Key",
              "k-outage"),
          400,
          "already used for another ranking");
      // erin's ranking of it under another key while the first is in flight: already answered,
      // or the second would go out beside the first once the broker is back
      assertOneLineReason(
          other.post(
              "/api/comparisons",
              TOKEN,
              submission(during, List.of(0, 1), "erin"),
              "Idempotency-Key",
              "k-outage-2"),
          400,
          "request " + during + " was already answered by labeler erin");
      var refused = sending.get();
      // refused by the configured acknowledgement bound, not by the producer's own minutes
      assertOneLineReason(refused, 503, "did not acknowledge the comparison within 3000 ms");
      // worth retrying, so it says when (the page offers Enter only for such a refusal)
      assertThat(refused.header("Retry-After")).isEqualTo("1");
      assertThat(other.get("/api/status?labeler=erin", TOKEN).json().getLong("mine")).isEqualTo(1);

      outage = EmbeddedKafka.start(options.withPort(port)); // the same broker comes back
      // a client retries with the same key until the broker acknowledges; it counts once
      var retried = new GatewayClient.Reply[1];
      GatewayClient.await(
          () ->
              (retried[0] =
                          other.post(
                              "/api/comparisons", TOKEN, body, "Idempotency-Key", "k-outage"))
                      .status()
                  != 503,
          "the gateway to write again after the broker came back");
      assertThat(retried[0].status()).as(retried[0].body()).isEqualTo(201);
      var again = other.post("/api/comparisons", TOKEN, body, "Idempotency-Key", "k-outage");
      assertThat(again.body()).isEqualTo(retried[0].body());
      assertThat(other.comparisonsFor(during)).hasSize(1);
      assertThat(other.comparisonsFor(before)).hasSize(1);
    } finally {
      if (gateway != null) gateway.stop();
      outage.close();
    }
  }
}
