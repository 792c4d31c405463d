package io.streamrlhf.infra.cli;

import io.streamrlhf.actors.ActorNode;
import io.streamrlhf.actors.gateway.GatewayNode;
import io.streamrlhf.actors.gateway.GatewaySettings;
import io.streamrlhf.infra.kafka.TopicProvisioner;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code rlhf gateway}: the feedback gateway on its own ({@link GatewayNode}): the labeling page,
 * the JSON API and the labeling tools' webhooks, turning rankings of {@code rlhf.label-requests}
 * into {@code rlhf.comparisons}.
 */
@Command(
    name = "gateway",
    mixinStandardHelpOptions = true,
    showDefaultValues = true,
    description = {
      "Serves the labeling page and a JSON API where people and scripts rank the K answers of the label"
          + " requests on rlhf.label-requests, and webhooks for Label Studio and Argilla; every ranking"
          + " becomes a comparison on rlhf.comparisons, answered 2xx only once the broker acknowledged it.",
      "Prints the page's address, and the token when it generated one. Serves until Ctrl-C (which"
          + " first answers the rankings already on their way, for at most the acknowledgement timeout"
          + " or 30 s, whichever is shorter), or exits 1 when it failed (one line saying why; a broker"
          + " replaced by a fresh one, as rlhf broker restarted without --data-dir is, is such a"
          + " failure), or 2 when the Kafka cluster refuses its login or a topic its role needs."
    },
    footerHeading = "%nEndpoints (every /api call needs Authorization: Bearer <token>):%n",
    footer = {
      "  GET  /  the labeling page (asks for the token and a labeler id)",
      "  GET  /api/requests/next?labeler=ID",
      "       200 {requestId, prompt, responses[K], policyVersion, ...}: the oldest",
      "       waiting request ID has neither answered nor skipped; 204 when none",
      "  POST /api/comparisons  {requestId, ranks, labelerId, idempotencyKey?}",
      "       (or an Idempotency-Key header); ranks[i] is the rank of answer i:",
      "       K values in 0..K-1, 0 best, equal ranks tie. 201 {comparisonId, ...}",
      "       once the broker acknowledged it; a retry with the same key gets the",
      "       same 201 and writes nothing",
      "  POST /api/skips  {requestId, labelerId}: 204; not offered to them again",
      "       until the gateway restarts (skips and completions are not on a topic)",
      "  GET  /api/status[?labeler=ID]",
      "       {ready, readerError, sending, waiting, comparisons, labelers: {id: count},",
      "       mine, waitingForLabeler}: ready once the topics are read, readerError",
      "       why reading them fails while it does (else null), sending what awaits the",
      "       broker; waiting counts requests no person ranked yet, waitingForLabeler",
      "       those of them ID has not skipped",
      "  POST /webhooks/label-studio  Label Studio's ANNOTATION_CREATED webhook,",
      "       with the header Authorization: Bearer <label-studio token>; the",
      "       annotation id is the idempotency key",
      "  POST /webhooks/argilla  Argilla's webhooks (Standard Webhooks, signed",
      "       with --argilla-secret): response.created, and response.updated",
      "       when submitted, is a ranking (a later edit of a counted one is",
      "       acknowledged and ignored); record.completed retires the request",
      "",
      "Statuses: 400 bad input, with a one-line reason (malformed JSON, an",
      "  unknown request id, ranks that are not K values in 0..K-1, a request the",
      "  labeler already answered); 401 a missing or wrong token or signature;",
      "  413 a body over --max-body-bytes; 415 a multipart body; 429 over",
      "  --rate-limit (Retry-After); 503 the broker did not acknowledge within",
      "  --ack-timeout (Retry-After: retry with the same idempotency key), or,",
      "  after a start, the gateway has not yet read the topics' earlier requests",
      "  and rankings (Retry-After), or the cluster refuses the gateway's writes",
      "  (no Retry-After: the gateway stops); 500 the broker refused the record",
      "  for good.",
      "Bodies are read as JSON whatever their Content-Type, multipart excepted.",
      "Secrets may come from the environment instead of the command line:",
      "  RLHF_GATEWAY_TOKEN, RLHF_LABEL_STUDIO_TOKEN, RLHF_ARGILLA_SECRET."
    })
final class GatewayCommand implements Callable<Integer> {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Mixin KafkaClusterOptions cluster;

  @Option(
      names = "--host",
      paramLabel = "HOST",
      defaultValue = GatewaySettings.DEFAULT_HOST,
      description = "Address to listen on; 0.0.0.0 lets other machines reach the page.")
  String host;

  @Option(
      names = "--port",
      paramLabel = "PORT",
      defaultValue = "" + GatewaySettings.DEFAULT_PORT,
      description = "HTTP port (0 picks a free one).")
  int port;

  @Option(
      names = "--token",
      paramLabel = "TOKEN",
      description =
          "Bearer token of the API and the page (default: $"
              + GatewayToken.ENV
              + ", else a random one, printed at start); one shorter than "
              + GatewayToken.SHORTEST_UNWARNED
              + " characters is warned of when --host lets other machines in.")
  String token;

  @Option(
      names = "--label-studio-token",
      paramLabel = "TOKEN",
      description =
          "Bearer token Label Studio's webhook sends (default: $RLHF_LABEL_STUDIO_TOKEN, else the"
              + " API token).")
  String labelStudioToken;

  @Option(
      names = "--argilla-secret",
      paramLabel = "SECRET",
      description =
          "Argilla's webhook secret as Argilla shows it, whsec_<base64>, or the base64 alone"
              + " (default: $RLHF_ARGILLA_SECRET); without one the Argilla endpoint is off.")
  String argillaSecret;

  @Option(
      names = "--cors-origin",
      paramLabel = "ORIGIN",
      description =
          "Let pages from this origin (scheme://host[:port]) call the API; default: no CORS.")
  String corsOrigin;

  @Option(
      names = "--max-body-bytes",
      paramLabel = "BYTES",
      defaultValue = "" + GatewaySettings.DEFAULT_MAX_BODY_BYTES,
      description = "Larger request bodies are refused with 413.")
  int maxBodyBytes;

  @Option(
      names = "--rate-limit",
      defaultValue = "" + GatewaySettings.DEFAULT_RATE_PER_MINUTE,
      paramLabel = "PER_MINUTE",
      description = "API and webhook calls per client address and minute; more are refused (429).")
  int ratePerMinute;

  @Option(
      names = "--ack-timeout",
      paramLabel = "DURATION",
      defaultValue = "PT10S",
      description =
          "How long a submission waits for the broker's acknowledgement before it is answered 503"
              + " (ISO-8601 duration, 100 ms to 10 minutes).")
  Duration ackTimeout;

  @Override
  public Integer call() {
    var out = spec.commandLine().getOut();
    var givenToken = GatewayToken.given(token);
    var apiToken = givenToken != null ? givenToken : GatewaySettings.generateToken();
    var kafka = cluster.access();
    ListenPort.require(host, port); // named as the flag, and free, before the broker is asked
    // named as the flags: the settings' own checks speak of the values, not of what set them
    if (maxBodyBytes < 1024)
      throw new UserError("--max-body-bytes must be at least 1024, got " + maxBodyBytes);
    if (ratePerMinute < 1)
      throw new UserError("--rate-limit must be at least 1 per minute, got " + ratePerMinute);
    if (ackTimeout.compareTo(Duration.ofMillis(100)) < 0
        || ackTimeout.compareTo(GatewaySettings.MAX_ACK_TIMEOUT) > 0)
      throw new UserError(
          "--ack-timeout must be from 100 ms to "
              + GatewaySettings.MAX_ACK_TIMEOUT.toMinutes()
              + " minutes, got "
              + ackTimeout);
    GatewaySettings settings;
    try {
      settings =
          new GatewaySettings(
              kafka,
              host,
              port,
              apiToken,
              firstOf(labelStudioToken, System.getenv("RLHF_LABEL_STUDIO_TOKEN")),
              firstOf(argillaSecret, System.getenv("RLHF_ARGILLA_SECRET")),
              corsOrigin,
              maxBodyBytes,
              ratePerMinute,
              ackTimeout);
    } catch (IllegalArgumentException e) {
      throw new UserError(e.getMessage());
    }
    BrokerCheck.require(kafka);
    TopicProvisioner.provisionAllButPrompts(kafka, Duration.ofSeconds(30));
    var vertx = Vertx.vertx(new VertxOptions().setFileSystemOptions(ActorNode.fileSystemOptions()));
    GatewayNode node;
    try {
      node = GatewayNode.deploy(vertx, settings, line -> println(out, line));
    } catch (IllegalStateException e) {
      vertx.close();
      // only a failure to listen is the address's; anything else says what it is
      if (!(e.getCause() instanceof java.io.IOException)) throw e;
      throw new UserError(
          "cannot serve on "
              + host
              + ":"
              + port
              + ": "
              + e.getMessage()
              + "; choose another --port, or a --host of this machine",
          e);
    }
    println(out, "Feedback gateway for " + cluster.bootstrap + ": open " + node.url());
    if (givenToken == null) println(out, "Token (generated; paste it into the page): " + apiToken);
    var weak = GatewayToken.warning(givenToken, host);
    if (weak != null) println(spec.commandLine().getErr(), "rlhf gateway: " + weak);
    println(
        out,
        "Label Studio webhook: "
            + node.url()
            + "webhooks/label-studio; Argilla webhook: "
            + node.url()
            + "webhooks/argilla"
            + (settings.argillaSecret() == null ? " (off: no --argilla-secret)" : "")
            + ". Ctrl-C to stop.");
    return Serving.until(
        "gateway",
        node.ended(),
        () -> {
          println(out, "Stopping the feedback gateway...");
          node.stop();
          vertx.close().await();
          println(out, "Feedback gateway stopped.");
        },
        spec.commandLine().getErr());
  }

  private static String firstOf(String flag, String env) {
    if (flag != null) return flag;
    return env == null || env.isBlank() ? null : env;
  }

  private static void println(PrintWriter out, String line) {
    synchronized (out) {
      out.println(line);
      out.flush();
    }
  }
}
