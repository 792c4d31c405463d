package io.streamrlhf.actors.gateway;

import io.streamrlhf.actors.VerticleFailure;
import io.streamrlhf.schemas.AvroCodec;
import io.streamrlhf.schemas.Comparison;
import io.streamrlhf.schemas.LabelRequest;
import io.streamrlhf.schemas.Topics;
import io.streamrlhf.schemas.transport.Acks;
import io.streamrlhf.schemas.transport.KafkaClientConfigs;
import io.streamrlhf.schemas.transport.KafkaRefusal;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.WorkerExecutor;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.Json;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import io.vertx.ext.web.handler.CorsHandler;
import io.vertx.ext.web.handler.HttpException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.RetriableException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The feedback gateway (DESIGN.md, "The loop"): people and labeling tools rank the answers of
 * {@code rlhf.label-requests}, and each ranking lands on {@code rlhf.comparisons} as a {@link
 * Comparison}. It serves the labeling page, a JSON API doing the same for scripts, and webhook
 * endpoints for Label Studio and Argilla; the routes are listed in {@link #router}.
 *
 * <p>Nothing is lost or doubled: a submission is answered 2xx only after the broker acknowledged
 * its record ({@code acks=all}), 503 when it did not within the acknowledgement timeout; a retry
 * with the same idempotency key (or the tool's annotation id) gets the first answer again and
 * writes nothing.
 *
 * <p>What it knows (requests, who answered what, used keys) comes from its {@link FeedbackFeed} by
 * local messages and lives in a {@link RequestBook} that only this verticle's event loop touches.
 * It owns the producer; sends wait for their acknowledgement on a small worker pool, never on the
 * event loop.
 *
 * <p>An exception in a route is that request's 500; an {@link Error} anywhere, or anything that
 * escapes a handler outside a route, ends the gateway ({@link #ended}): its owner stops it.
 */
public final class FeedbackGateway extends VerticleBase {
  private static final Logger logger = LoggerFactory.getLogger(FeedbackGateway.class);
  private static final AvroCodec<Comparison> COMPARISONS = AvroCodec.of(Comparison.class);
  private static final String PAGE = "io/streamrlhf/actors/gateway/page/";

  /** The page may load only its own script and style: no inline code, no other origin. */
  private static final String PAGE_POLICY =
      "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
          + "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

  /** The longest a stop waits for requests in flight (a supervisor's kill is not far behind). */
  static final Duration MAX_DRAIN = Duration.ofSeconds(30);

  private final GatewaySettings settings;
  private final String id;
  private final String feedAddress;
  private final RequestBook book = new RequestBook();
  private final Map<String, InFlight> inFlightByKey = new HashMap<>();
  private final Set<String> inFlightAnswers = new HashSet<>();
  private final byte[] token;
  private final byte[] labelStudioToken;
  private final CompletableFuture<Void> ended = new CompletableFuture<>();
  private RateLimiter limiter;
  private byte[] argillaKey;
  private KafkaProducer<byte[], byte[]> producer;
  private WorkerExecutor acks;
  private HttpServer server;
  private Map<String, Buffer> page;

  /** Whether the feed has read the topics to their end at start ({@link FeedRecords#CAUGHT_UP}). */
  private boolean caughtUp;

  /** Set on this verticle's event loop as {@link #stop} begins: replies close their connection. */
  private boolean stopping;

  /** The routing-context key {@link #requireToken} sets once a caller showed the API token. */
  private static final String TOKEN_SHOWN = "rlhf.token-shown";

  /** Why the feed's last round failed, while its rounds keep failing; null when reading works. */
  private String readerTrouble;

  /** A response, kept whole so a retried submission gets exactly the first one again. */
  record Reply(int status, JsonObject body) {}

  /** A submission whose record is on its way to the broker, and the reply it will get. */
  private record InFlight(String requestId, List<Integer> ranks, Future<Reply> reply) {}

  /**
   * @param id names this gateway's Kafka clients and worker pool
   * @param feedAddress where its {@link FeedbackFeed} sends the records it reads
   */
  FeedbackGateway(GatewaySettings settings, String id, String feedAddress) {
    this.settings = settings;
    this.id = id;
    this.feedAddress = feedAddress;
    this.token = settings.token().getBytes(StandardCharsets.UTF_8);
    this.labelStudioToken = settings.labelStudioToken().getBytes(StandardCharsets.UTF_8);
  }

  /** The port the server listens on (the chosen one when the settings asked for 0). */
  int port() {
    return server.actualPort();
  }

  /**
   * Completes when the gateway stops: normally on undeploy, exceptionally (a {@link
   * VerticleFailure}) when it failed.
   */
  CompletableFuture<Void> ended() {
    return ended;
  }

  @Override
  public Future<?> start() {
    context.exceptionHandler(this::fail);
    FeedRecords.registerCodecs(vertx);
    limiter = new RateLimiter(settings.ratePerMinute());
    argillaKey =
        settings.argillaSecret() == null ? null : StandardWebhooks.key(settings.argillaSecret());
    page =
        Map.of(
            "index.html", resource("index.html"),
            "page.js", resource("page.js"),
            "page.css", resource("page.css"));
    vertx
        .eventBus()
        .localConsumer(
            feedAddress,
            message -> {
              if (message.body() instanceof LabelRequest r) book.addRequest(r);
              else if (message.body() instanceof Comparison c) book.addComparison(c);
              else if (FeedRecords.CAUGHT_UP.equals(message.body())) caughtUp = true;
              else if (message.body() instanceof FeedRecords.ReaderTrouble t)
                readerTrouble = t.reason();
            });
    var router = router();
    producer = new KafkaProducer<>(producerConfig());
    long ackMillis = settings.ackTimeout().toMillis();
    acks =
        vertx.createSharedWorkerExecutor(
            "rlhf-" + id + "-acks", 8, 3 * ackMillis + 5_000, TimeUnit.MILLISECONDS);
    // a JSON body sent as a form (curl -d says so) is read whole, as JSON, like any other: the
    // server's form decoder, which runs for that type, must admit what the body limit does
    int body = settings.maxBodyBytes();
    var options =
        new HttpServerOptions()
            .setHost(settings.host())
            .setPort(settings.port())
            .setMaxFormAttributeSize(body)
            .setMaxFormBufferedBytes(body)
            .setMaxFormFields(body);
    return vertx
        .createHttpServer(options)
        .requestHandler(router)
        .listen()
        .onSuccess(s -> server = s)
        .onFailure(e -> closeClients()); // stop() is not called when start() fails
  }

  /**
   * The project's producer (idempotent, {@code acks=all}) with its waits bounded by the
   * acknowledgement timeout: a send to an unreachable broker gives up by then instead of after a
   * minute, and once it gave up the record is no longer in flight, so a client's retry cannot race
   * it.
   */
  private Map<String, Object> producerConfig() {
    long ackMillis = settings.ackTimeout().toMillis();
    var c = KafkaClientConfigs.producer(settings.kafka(), "rlhf-" + id);
    c.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, ackMillis);
    c.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) Math.max(50, ackMillis / 2));
    c.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, (int) ackMillis);
    return c;
  }

  /**
   * The routes. Under {@code /api} and {@code /webhooks} every call is rate-limited per client
   * address; {@code /api} needs the bearer token, the webhooks their tool's credential.
   */
  private Router router() {
    var router = Router.router(vertx);
    router.route().handler(this::securityHeaders);
    if (settings.corsOrigin() != null) {
      router
          .route()
          .handler(
              CorsHandler.create()
                  .addOrigin(settings.corsOrigin())
                  .allowedMethods(Set.of(HttpMethod.GET, HttpMethod.POST))
                  .allowedHeaders(Set.of("Authorization", "Content-Type", "Idempotency-Key"))
                  .exposedHeaders(Set.of("Retry-After")));
    }
    // the page's files answer HEAD as well (a health check's, curl -I's)
    page(router, "/").handler(ctx -> servePage(ctx, "index.html", "text/html; charset=utf-8"));
    page(router, "/page.js").handler(ctx -> servePage(ctx, "page.js", "text/javascript"));
    page(router, "/page.css").handler(ctx -> servePage(ctx, "page.css", "text/css"));

    var body = BodyHandler.create(false).setBodyLimit(settings.maxBodyBytes());
    router
        .route("/api/*")
        .handler(this::rateLimit)
        .handler(this::requireToken)
        .handler(this::requireCaughtUp);
    router.route("/webhooks/*").handler(this::rateLimit).handler(this::requireCaughtUp);
    // routes of their own: Vert.x runs a body handler before any other handler of the same route
    router.route("/webhooks/label-studio").handler(this::requireLabelStudioToken);
    router.post("/api/*").handler(this::refuseMultipart);
    router.post("/webhooks/*").handler(this::refuseMultipart);
    router.get("/api/status").handler(this::status);
    router.get("/api/requests/next").handler(this::next);
    router.post("/api/comparisons").handler(body).handler(this::submitFromApi);
    router.post("/api/skips").handler(body).handler(this::skip);
    router.post("/webhooks/label-studio").handler(body).handler(this::labelStudio);
    router.post("/webhooks/argilla").handler(body).handler(this::argilla);
    var endpoints = methodsByPath(router);
    router.route().last().handler(ctx -> noRoute(ctx, endpoints));
    router.route().failureHandler(this::failure);
    return router;
  }

  private static io.vertx.ext.web.Route page(Router router, String path) {
    return router.route(path).method(HttpMethod.GET).method(HttpMethod.HEAD);
  }

  /** The methods each endpoint's routes take ("GET", "POST, GET"), by exact path. */
  private static Map<String, String> methodsByPath(Router router) {
    var methods = new java.util.TreeMap<String, java.util.TreeSet<String>>();
    for (var route : router.getRoutes())
      if (route.isExactPath() && route.getPath() != null && route.methods() != null)
        for (var method : route.methods())
          methods
              .computeIfAbsent(route.getPath(), p -> new java.util.TreeSet<>())
              .add(method.name());
    var joined = new HashMap<String, String>();
    methods.forEach((path, names) -> joined.put(path, String.join(", ", names)));
    return Map.copyOf(joined);
  }

  /**
   * No route took the request: an endpoint called with another method (405, naming the methods its
   * routes take), or none (404).
   */
  private void noRoute(RoutingContext ctx, Map<String, String> endpoints) {
    var path = ctx.request().path();
    var allowed = endpoints.get(path);
    if (allowed == null) {
      reject(ctx, new Rejection(404, "no such endpoint: see rlhf gateway --help"));
      return;
    }
    ctx.response().putHeader("Allow", allowed);
    reject(
        ctx,
        new Rejection(405, path + " takes " + allowed + ", not " + ctx.request().method().name()));
  }

  // ---- cross-cutting: headers, rate limit, credentials, failures ----

  private void securityHeaders(RoutingContext ctx) {
    ctx.response()
        .putHeader("X-Content-Type-Options", "nosniff")
        .putHeader("Referrer-Policy", "no-referrer")
        .putHeader("X-Frame-Options", "DENY");
    // a stopping server drops a request that follows on a kept-alive connection unanswered: tell
    // the client to open a new one (refused, clearly) instead
    ctx.addHeadersEndHandler(
        v -> {
          // (HTTP/2 has no such header: its connection shuts down by GOAWAY)
          if (stopping && ctx.request().version() != HttpVersion.HTTP_2)
            ctx.response().putHeader("Connection", "close");
        });
    ctx.next();
  }

  /**
   * Every body posted here is JSON; a multipart one is refused, after the credentials are checked
   * and before the body handler decodes it (Netty's decoder fails on some, an empty boundary with
   * an internal error, and reads none as JSON).
   */
  private void refuseMultipart(RoutingContext ctx) {
    var type = ctx.request().getHeader("Content-Type");
    if (type != null && type.strip().toLowerCase(java.util.Locale.ROOT).startsWith("multipart/")) {
      reject(
          ctx,
          new Rejection(
              415,
              "a multipart body is not read here: send JSON with Content-Type: application/json"));
      return;
    }
    ctx.next();
  }

  private void rateLimit(RoutingContext ctx) {
    var client = ctx.request().remoteAddress() == null ? "?" : ctx.request().remoteAddress().host();
    long wait = limiter.acquire(client, System.nanoTime());
    if (wait == 0) {
      ctx.next();
      return;
    }
    reject(
        ctx,
        Rejection.retryLater(
            429,
            wait,
            "rate limit of "
                + settings.ratePerMinute()
                + " calls a minute reached; retry in "
                + wait
                + " s"));
  }

  private void requireToken(RoutingContext ctx) {
    var given = bearer(ctx);
    if (given == null) {
      reject(
          ctx,
          new Rejection(
              401,
              "missing bearer token: send Authorization: Bearer <token> (rlhf gateway prints it)"));
    } else if (!MessageDigest.isEqual(given, token)) {
      reject(ctx, new Rejection(401, "wrong bearer token"));
    } else {
      ctx.put(TOKEN_SHOWN, Boolean.TRUE);
      ctx.next();
    }
  }

  /**
   * Until the feed has read both topics to their end, the book does not know every request already
   * answered or key already used: offering or taking a ranking then could double one. Status only
   * reports.
   */
  private void requireCaughtUp(RoutingContext ctx) {
    if (caughtUp || ctx.request().path().equals("/api/status")) {
      ctx.next();
      return;
    }
    reject(
        ctx,
        Rejection.retryLater(
            503,
            1,
            "the gateway is reading "
                + Topics.LABEL_REQUESTS
                + " and "
                + Topics.COMPARISONS
                + " from the beginning, to learn what was already answered; retry in a moment"
                // the broker's words only to callers who showed the API token
                + (readerTrouble == null || ctx.get(TOKEN_SHOWN) == null
                    ? ""
                    : " (reading fails for now: " + readerTrouble + ")")));
  }

  private void requireLabelStudioToken(RoutingContext ctx) {
    var given = bearer(ctx);
    if (given == null || !MessageDigest.isEqual(given, labelStudioToken)) {
      reject(
          ctx,
          new Rejection(
              401,
              "missing or wrong token: add the header Authorization: Bearer <label-studio token>"
                  + " to the Label Studio webhook"));
    } else {
      ctx.next();
    }
  }

  private static byte[] bearer(RoutingContext ctx) {
    var header = ctx.request().getHeader("Authorization");
    if (header == null || !header.regionMatches(true, 0, "Bearer ", 0, 7)) return null;
    return header.substring(7).trim().getBytes(StandardCharsets.UTF_8);
  }

  /**
   * Whether {@code failure} is Netty's refusal of a form-encoded body over the limit (a chunked
   * body sent as a form, curl's default type, is decoded as one and fails there, not at the body
   * handler's limit).
   */
  private static boolean tooLongForm(Throwable failure) {
    for (var t = failure; t != null; t = t.getCause()) {
      var name = t.getClass().getSimpleName();
      // a field name over the buffer, too many fields, or a value over the attribute size
      if (name.equals("TooLongFormFieldException")
          || name.equals("TooManyFormFieldsException")
          || t instanceof java.io.IOException
              && "Size exceed allowed maximum capacity".equals(t.getMessage())) return true;
    }
    return false;
  }

  /**
   * Every failure ends here as one JSON line: a body over the limit (413), a route's own status, or
   * 500 for our bugs, whose details go to the log and never to the client.
   */
  private void failure(RoutingContext ctx) {
    var failure = ctx.failure();
    if (failure instanceof Rejection r) {
      reject(ctx, r);
      return;
    }
    int status =
        failure instanceof HttpException h
            ? h.getStatusCode()
            : tooLongForm(failure) ? 413 : ctx.statusCode() > 0 ? ctx.statusCode() : 500;
    if (status == 413) {
      reject(
          ctx,
          new Rejection(
              413, "request body over " + settings.maxBodyBytes() + " bytes (--max-body-bytes)"));
    } else if (status >= 400 && status < 500 && failure != null) {
      // the body handler could not read the request (a form body that does not decode): the
      // client's to mend, in one line; the decoder's words name its internals, not the request
      logger.debug(
          "gateway: {} {} unreadable", ctx.request().method(), ctx.request().path(), failure);
      reject(
          ctx,
          new Rejection(
              status,
              "the request body could not be read: send JSON with Content-Type: application/json"));
    } else if (status >= 500 || failure != null && !(failure instanceof HttpException)) {
      logger.error("gateway: {} {} failed", ctx.request().method(), ctx.request().path(), failure);
      reject(ctx, new Rejection(500, "internal error; the gateway's log has the details"));
      if (failure instanceof Error error) fail(error); // a broken JVM, not one bad request
    } else {
      reject(ctx, new Rejection(status, ctx.response().getStatusMessage()));
    }
  }

  // ---- the page ----

  private void servePage(RoutingContext ctx, String name, String contentType) {
    var file = page.get(name);
    var response =
        ctx.response()
            .putHeader("Content-Type", contentType)
            .putHeader("Cache-Control", "no-cache")
            .putHeader("Content-Security-Policy", PAGE_POLICY);
    // HEAD: GET's headers and no body; Vert.x drops the body but would leave out its length
    if (ctx.request().method() == HttpMethod.HEAD)
      response.putHeader("Content-Length", String.valueOf(file.length())).end();
    else response.end(file);
  }

  private static Buffer resource(String name) {
    try (var in = FeedbackGateway.class.getClassLoader().getResourceAsStream(PAGE + name)) {
      if (in == null)
        throw new IllegalStateException("the labeling page's " + name + " is missing");
      return Buffer.buffer(in.readAllBytes());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  // ---- the JSON API ----

  /**
   * The labeler the query names. curl sends a name typed as José as its UTF-8 bytes rather than
   * percent-encoded, and the server reads a request line one character per byte: such a query is
   * read again as UTF-8, or José would be JosÃ©, another labeler.
   */
  private static String labelerParam(HttpServerRequest request) {
    var value = request.getParam("labeler");
    if (value == null
        || value.chars().allMatch(c -> c < 0x80)
        || value.chars().anyMatch(c -> c > 0xFF)) return value;
    // a percent-encoded é decodes to one char of those too: only bytes that read as UTF-8 are
    try {
      return StandardCharsets.UTF_8
          .newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(ByteBuffer.wrap(value.getBytes(StandardCharsets.ISO_8859_1)))
          .toString();
    } catch (CharacterCodingException e) {
      return value;
    }
  }

  private void status(RoutingContext ctx) {
    var asked = labelerParam(ctx.request());
    var labeler = asked == null ? null : Submission.spelling(asked);
    var body =
        new JsonObject()
            .put("ready", caughtUp)
            .put("readerError", readerTrouble)
            .put("sending", inFlightAnswers.size())
            .put("waiting", book.waiting())
            .put("comparisons", book.comparisons())
            .put("rewardVersion", book.newestRewardVersion())
            .put("labelers", new JsonObject(new HashMap<String, Object>(book.perLabeler())));
    if (labeler != null)
      body.put("labeler", labeler)
          .put("mine", book.count(labeler))
          .put("waitingForLabeler", book.waitingFor(labeler));
    reply(ctx, new Reply(200, body));
  }

  private void next(RoutingContext ctx) {
    handle(
        ctx,
        () -> {
          var labeler = Submission.checkLabeler(labelerParam(ctx.request()), "labeler");
          var request = book.next(labeler);
          if (request.isEmpty()) {
            ctx.response().setStatusCode(204).end();
            return;
          }
          reply(ctx, new Reply(200, requestJson(request.get()).put("waiting", book.waiting())));
        });
  }

  private static JsonObject requestJson(LabelRequest r) {
    return new JsonObject()
        .put("requestId", r.getRequestId())
        .put("promptId", r.getPromptId())
        .put("prompt", r.getPromptText())
        .put("responses", new JsonArray(List.copyOf(r.getResponses())))
        .put("policyVersion", r.getPolicyVersion())
        .put("rewardVersion", r.getRewardVersion())
        .put("createdAt", r.getCreatedAt().toString());
  }

  private void skip(RoutingContext ctx) {
    handle(
        ctx,
        () -> {
          var json = json(ctx);
          var requestId = PayloadFields.text(json, "requestId", "requestId");
          var labeler = Submission.checkLabeler(json.getValue("labelerId"));
          if (book.request(requestId).isEmpty()) throw unknownRequest(requestId);
          book.skip(requestId, labeler);
          ctx.response().setStatusCode(204).end();
        });
  }

  private void submitFromApi(RoutingContext ctx) {
    handle(
        ctx,
        () -> {
          var json = json(ctx);
          var headerKey = ctx.request().getHeader("Idempotency-Key");
          var bodyKey = json.getValue("idempotencyKey");
          if (bodyKey != null && !(bodyKey instanceof String))
            throw Rejection.badRequest("idempotencyKey must be a string");
          if (headerKey != null && bodyKey != null && !headerKey.equals(bodyKey))
            throw Rejection.badRequest("the Idempotency-Key header and idempotencyKey differ");
          if (json.getValue("ranks") != null && !(json.getValue("ranks") instanceof JsonArray))
            throw Rejection.badRequest("ranks must be an array with one rank per answer");
          for (var field : List.of("requestId", "labelerId"))
            if (json.getValue(field) != null && !(json.getValue(field) instanceof String))
              throw Rejection.badRequest(field + " must be a string");
          var submission =
              new Submission(
                  json.getValue("requestId") instanceof String s ? s : null,
                  json.getValue("ranks") instanceof JsonArray a ? a.getList() : null,
                  json.getValue("labelerId") instanceof String s ? s : null,
                  Submission.HUMAN,
                  headerKey != null ? headerKey : (String) bodyKey);
          if (Submission.reservedForOthers(submission.labelerId()))
            throw Rejection.badRequest(
                "labelerId "
                    + submission.labelerId()
                    + " is the kind of id the labeling tools' webhooks and the simulated labelers"
                    + " use (label-studio/..., argilla/..., simulated-N): choose another");
          submit(submission, false).onSuccess(r -> reply(ctx, r)).onFailure(ctx::fail);
        });
  }

  // ---- the webhooks ----

  private void labelStudio(RoutingContext ctx) {
    handle(ctx, () -> apply(ctx, LabelStudioWebhook.read(json(ctx))));
  }

  private void argilla(RoutingContext ctx) {
    handle(
        ctx,
        () -> {
          if (argillaKey == null)
            throw new Rejection(
                404, "Argilla webhooks are off: start the gateway with --argilla-secret");
          var raw = ctx.body().buffer();
          StandardWebhooks.verify(
              argillaKey,
              ctx.request().getHeader("webhook-id"),
              ctx.request().getHeader("webhook-timestamp"),
              ctx.request().getHeader("webhook-signature"),
              raw == null ? new byte[0] : raw.getBytes(),
              Instant.now());
          apply(ctx, ArgillaWebhook.read(json(ctx)));
        });
  }

  private void apply(RoutingContext ctx, ToolEvent event) {
    if (event instanceof ToolEvent.Ranked ranked) {
      if (ranked.shown() != null)
        requireShownAsAsked(ranked.submission().requestId(), ranked.shown());
      submit(ranked.submission(), ranked.revision())
          .onSuccess(r -> reply(ctx, r))
          .onFailure(ctx::fail);
    } else if (event instanceof ToolEvent.Completed completed) {
      book.complete(completed.requestId());
      reply(ctx, new Reply(200, new JsonObject().put("completed", completed.requestId())));
    } else if (event instanceof ToolEvent.Ignored ignored) {
      reply(ctx, new Reply(200, new JsonObject().put("ignored", ignored.why())));
    }
  }

  // ---- submitting a ranking ----

  /**
   * A tool's task must show the request's answers in its order: ranks of a task imported in another
   * order, or of other texts, would be credited to the wrong answers.
   */
  private void requireShownAsAsked(String requestId, List<String> shown) {
    var request = book.request(requestId).orElseThrow(() -> unknownRequest(requestId));
    var asked = request.getResponses();
    if (shown.size() != asked.size())
      throw Rejection.badRequest(
          "task.data.items has "
              + shown.size()
              + " items; request "
              + requestId
              + " has "
              + asked.size()
              + " answers");
    for (int i = 0; i < shown.size(); i++) {
      if (!shown.get(i).equals(asked.get(i).toString()))
        throw Rejection.badRequest(
            "task.data.items["
                + i
                + "].body is not answer "
                + i
                + " of request "
                + requestId
                + ": give the task the request's answers in the request's order");
    }
  }

  /**
   * Checks a submission against the request it answers and writes its comparison, or answers a
   * retry with the first reply. The future fails only with a {@link Rejection}.
   */
  private Future<Reply> submit(Submission s, boolean revision) {
    var request = book.request(s.requestId()).orElseThrow(() -> unknownRequest(s.requestId()));
    var ranks = Ranks.check(s.ranks(), request.getResponses().size());
    var key = s.scopedKey();
    if (key != null) {
      var inFlight = inFlightByKey.get(key);
      if (inFlight != null) {
        // sent again while the first is on its way: the same submission gets its reply
        if (revision
            && inFlight.requestId().equals(s.requestId())
            && !inFlight.ranks().equals(ranks))
          return inFlight
              .reply()
              .map(first -> revisionIgnored(first.body().getString("comparisonId")));
        if (!inFlight.requestId().equals(s.requestId()) || !inFlight.ranks().equals(ranks))
          throw keyUsedForAnother(s);
        return inFlight.reply();
      }
      var earlier = book.byKey(key);
      if (earlier.isPresent()) {
        var c = earlier.get();
        if (revision && c.getRequestId().equals(s.requestId()) && !c.getRanks().equals(ranks))
          return Future.succeededFuture(revisionIgnored(c.getComparisonId()));
        if (!c.getRequestId().equals(s.requestId()) || !c.getRanks().equals(ranks))
          throw keyUsedForAnother(s);
        return Future.succeededFuture(created(c));
      }
    }
    var answer = s.requestId() + '\u0000' + s.labelerId();
    if (book.answered(s.requestId(), s.labelerId()) || inFlightAnswers.contains(answer))
      throw Rejection.badRequest(
          "request " + s.requestId() + " was already answered by labeler " + s.labelerId());

    var comparison = s.toComparison(request, ranks, Instant.now());
    book.sending(comparison);
    inFlightAnswers.add(answer);
    var written =
        acks.<Void>executeBlocking(() -> send(comparison), false)
            .transform(
                done -> {
                  // back on this verticle's event loop: the book is touched from nowhere else
                  assert Context.isOnEventLoopThread() : "submission completed off the event loop";
                  inFlightAnswers.remove(answer);
                  if (key != null) inFlightByKey.remove(key);
                  if (done.succeeded()) {
                    book.addOwn(comparison);
                    return Future.succeededFuture(created(comparison));
                  }
                  book.notSent(comparison);
                  if (KafkaRefusal.in(done.cause()) != null) {
                    // this user may not write comparisons: no retry mends it, so the gateway stops
                    fail(done.cause());
                    return Future.<Reply>failedFuture(
                        new Rejection(
                            503,
                            "the Kafka cluster does not allow this gateway to write "
                                + Topics.COMPARISONS
                                + ": nothing was recorded, and the gateway stops"));
                  }
                  // a send the stopping gateway's producer cut short may succeed at its restart
                  var refusal =
                      stopping
                          ? Rejection.retryLater(
                              503,
                              1,
                              "the gateway stopped before the broker acknowledged the comparison;"
                                  + " retry with the same idempotency key once it is back")
                          : notWritten(done.cause(), settings.ackTimeout());
                  if (refusal.retryAfterSeconds() > 0)
                    logger.warn("gateway: comparison not written: {}", done.cause().getMessage());
                  else logger.error("gateway: comparison not written", done.cause());
                  return Future.<Reply>failedFuture(refusal);
                });
    if (key != null) inFlightByKey.put(key, new InFlight(s.requestId(), ranks, written));
    return written;
  }

  /** A tool's revision of a ranking already counted: acknowledged, and the first one stands. */
  private static Reply revisionIgnored(String countedId) {
    return new Reply(
        200,
        new JsonObject()
            .put(
                "ignored",
                "a revised ranking of a response already counted as comparison "
                    + countedId
                    + ": the first ranking stands"));
  }

  private static Rejection keyUsedForAnother(Submission s) {
    return Rejection.badRequest(
        "idempotency key '"
            + Submission.clip(s.idempotencyKey())
            + "' was already used for another ranking; use a new key");
  }

  /**
   * Sends on a worker thread and waits for the acknowledgement: a little longer than the producer's
   * own delivery timeout, so that when this gives up the producer has too.
   */
  private Void send(Comparison c) {
    var key = c.getRequestId().getBytes(StandardCharsets.UTF_8);
    var sent = producer.send(new ProducerRecord<>(Topics.COMPARISONS, key, COMPARISONS.encode(c)));
    Acks.await(
        List.of(sent),
        settings.ackTimeout().plusSeconds(2),
        "comparison " + c.getComparisonId(),
        IllegalStateException::new);
    return null;
  }

  /**
   * A write the broker did not acknowledge: a 503 worth retrying with the same key when it timed
   * out or failed for a reason Kafka calls retriable (a broker away, a leader moving); otherwise a
   * 500 without Retry-After, since the same record would fail the same way.
   */
  static Rejection notWritten(Throwable cause, Duration ackTimeout) {
    for (var c = cause; c != null; c = c.getCause()) {
      if (c instanceof java.util.concurrent.TimeoutException
          || c instanceof org.apache.kafka.common.errors.TimeoutException)
        return Rejection.retryLater(
            503,
            1,
            "the broker did not acknowledge the comparison within "
                + ackTimeout.toMillis()
                + " ms; retry with the same idempotency key");
      if (c instanceof RetriableException)
        return Rejection.retryLater(
            503,
            1,
            "the broker could not take the comparison for now ("
                + c.getClass().getSimpleName()
                + "); retry with the same idempotency key");
    }
    var root = cause;
    while (root.getCause() != null) root = root.getCause();
    return new Rejection(
        500,
        "the broker did not take the comparison ("
            + root.getClass().getSimpleName()
            + "): nothing was recorded, and a retry would fail the same way");
  }

  private static Reply created(Comparison c) {
    return new Reply(
        201,
        new JsonObject()
            .put("comparisonId", c.getComparisonId())
            .put("requestId", c.getRequestId())
            .put("labelerId", c.getLabelerId())
            .put("kind", c.getKind())
            .put("ranks", new JsonArray(List.copyOf(c.getRanks())))
            .put("idempotencyKey", c.getIdempotencyKey()));
  }

  private static Rejection unknownRequest(String requestId) {
    return Rejection.badRequest(
        "unknown request id "
            + Submission.clip(requestId)
            + ": not (yet) read from "
            + Topics.LABEL_REQUESTS
            + ", or older than the newest "
            + RequestBook.CAPACITY);
  }

  // ---- plumbing ----

  /** Runs a route's work; a {@link Rejection} becomes its status and reason. */
  private void handle(RoutingContext ctx, Runnable work) {
    try {
      work.run();
    } catch (Rejection r) {
      reject(ctx, r);
    }
  }

  private static JsonObject json(RoutingContext ctx) {
    var raw = ctx.body().buffer();
    if (raw == null || raw.length() == 0)
      throw Rejection.badRequest("empty body: send a JSON object");
    Object value;
    try {
      value = Json.decodeValue(raw);
    } catch (DecodeException e) {
      // Jackson's first line says what it expected; the rest quotes the body back
      var first = String.valueOf(e.getMessage()).lines().findFirst().orElse("");
      first = first.replaceFirst("^Failed to decode: ?", "");
      throw Rejection.badRequest(
          "malformed JSON: " + (first.length() > 140 ? first.substring(0, 140) + "..." : first));
    }
    if (!(value instanceof JsonObject o)) throw Rejection.badRequest("body must be a JSON object");
    // Vert.x keeps the last of a field given twice: "ranks" twice would count the second unseen
    try (var parser = STRICT_JSON.createParser(raw.getBytes())) {
      while (parser.nextToken() != null) {}
    } catch (java.io.IOException e) {
      var why =
          e instanceof com.fasterxml.jackson.core.JsonProcessingException j
              ? j.getOriginalMessage()
              : e.getMessage();
      throw Rejection.badRequest("malformed JSON: " + why);
    }
    return o;
  }

  private static final com.fasterxml.jackson.core.JsonFactory STRICT_JSON =
      com.fasterxml.jackson.core.JsonFactory.builder()
          .enable(com.fasterxml.jackson.core.StreamReadFeature.STRICT_DUPLICATE_DETECTION)
          // what Vert.x's own parser takes, or a body it read would fail here
          .enable(com.fasterxml.jackson.core.json.JsonReadFeature.ALLOW_JAVA_COMMENTS)
          .build();

  private static void reply(RoutingContext ctx, Reply r) {
    if (ctx.response().ended()) return;
    ctx.response()
        .setStatusCode(r.status())
        .putHeader("Content-Type", "application/json")
        .putHeader("Cache-Control", "no-store")
        .end(r.body().encode());
  }

  private static void reject(RoutingContext ctx, Rejection r) {
    if (r.status() == 401) ctx.response().putHeader("WWW-Authenticate", "Bearer realm=\"rlhf\"");
    if (r.retryAfterSeconds() > 0)
      ctx.response().putHeader("Retry-After", Long.toString(r.retryAfterSeconds()));
    reply(ctx, new Reply(r.status(), new JsonObject().put("error", r.reason())));
  }

  /** Fails {@link #ended}, once; its owner stops the gateway (closing the server and producer). */
  private void fail(Throwable e) {
    var failure = new VerticleFailure("gateway", e);
    if (!ended.completeExceptionally(failure)) return;
    // a refusal's words say it all; a bug's stack trace goes to the log
    if (KafkaRefusal.in(e) != null) logger.error("gateway: stopping: {}", failure.getMessage());
    else logger.error("gateway: stopping: {}", failure.getMessage(), e);
  }

  /**
   * Stops listening, lets the requests already in flight finish (each waits at most the
   * acknowledgement timeout for the broker, so the drain is bounded by it, and by {@link
   * #MAX_DRAIN}), their replies saying {@code Connection: close}, then closes the producer: a
   * client whose ranking was being written when Ctrl-C came gets its answer rather than a reset
   * connection.
   */
  @Override
  public Future<?> stop() {
    stopping = true;
    long drainMillis = Math.min(settings.ackTimeout().toMillis(), MAX_DRAIN.toMillis());
    var closing =
        server == null
            ? Future.<Void>succeededFuture()
            : server.shutdown(drainMillis, TimeUnit.MILLISECONDS);
    return closing.eventually(this::closeClients).onComplete(done -> ended.complete(null));
  }

  /** Closes the worker pool, then the producer (off the event loop: it may wait for the broker). */
  private Future<Void> closeClients() {
    return acks.close()
        .eventually(
            () ->
                vertx.executeBlocking(
                    () -> {
                      producer.close(Duration.ofSeconds(2));
                      return null;
                    }));
  }
}
