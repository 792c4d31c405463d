package io.streamrlhf.actors.gateway;

import io.streamrlhf.actors.Supervisor;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.ThreadingModel;
import io.vertx.core.Vertx;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;

/**
 * One feedback gateway as deployed: its {@link FeedbackGateway} (HTTP, on an event loop) and its
 * {@link FeedbackFeed} (a worker reading the feedback topics), which talk only by local messages.
 * {@code rlhf gateway} runs one per process; {@code rlhf demo --live} and tests share a Vert.x.
 * When either fails, {@link #ended} fails and its owner stops the node.
 */
public final class GatewayNode implements Supervisor.Part {
  private static final long WAIT_SECONDS = 60;

  /** How the log line begins that says reading the feedback topics failed and is retried. */
  public static final String READ_FAILED =
      "gateway: reading the feedback topics failed, retrying: ";

  private final Vertx vertx;
  private final FeedbackGateway gateway;
  private final String host;
  private final CompletableFuture<Void> ended = new CompletableFuture<>();
  private String gatewayDeployment;
  private String feedDeployment;
  private boolean stopped;

  private GatewayNode(Vertx vertx, FeedbackGateway gateway, String host) {
    this.vertx = vertx;
    this.gateway = gateway;
    this.host = host;
  }

  /**
   * Deploys the gateway first (it registers the address the feed sends to), then the feed, and
   * waits until both started.
   *
   * @throws IllegalStateException when the server cannot listen (the message says why)
   */
  public static GatewayNode deploy(Vertx vertx, GatewaySettings settings, Consumer<String> log) {
    var id = "gateway-" + UUID.randomUUID().toString().substring(0, 8);
    var address = "rlhf." + id + ".feed";
    var gateway = new FeedbackGateway(settings, id, address);
    var node = new GatewayNode(vertx, gateway, settings.host());
    var feed = new FeedbackFeed(settings.kafka(), address, "rlhf-" + id + "-feed", log);
    gateway.ended().exceptionally(node::failed);
    feed.ended().exceptionally(node::failed);
    node.gatewayDeployment = await(vertx.deployVerticle(gateway), "feedback gateway");
    try {
      node.feedDeployment =
          await(
              vertx.deployVerticle(
                  feed, new DeploymentOptions().setThreadingModel(ThreadingModel.WORKER)),
              "feedback gateway's topic reader");
    } catch (RuntimeException e) {
      node.stop();
      throw e;
    }
    return node;
  }

  private Void failed(Throwable failure) {
    ended.completeExceptionally(failure);
    return null;
  }

  /**
   * Completes when the node stops; exceptionally, with a {@link
   * io.streamrlhf.actors.VerticleFailure}, when the gateway or its topic reader failed.
   */
  @Override
  public CompletableFuture<Void> ended() {
    return ended;
  }

  /** The port the gateway listens on. */
  public int port() {
    return gateway.port();
  }

  /** The labeling page's address as seen from this machine. */
  public String url() {
    var shown = "0.0.0.0".equals(host) || "::".equals(host) ? "127.0.0.1" : host;
    if (shown.contains(":")) shown = "[" + shown + "]";
    return "http://" + shown + ":" + port() + "/";
  }

  /** Stops the feed, then the gateway (closing the server and the producer); once. */
  @Override
  public synchronized void stop() {
    if (stopped) return;
    stopped = true;
    try {
      if (feedDeployment != null)
        await(vertx.undeploy(feedDeployment), "feedback gateway's topic reader stop");
      await(vertx.undeploy(gatewayDeployment), "feedback gateway stop");
    } finally {
      ended.complete(null);
    }
  }

  private static <T> T await(Future<T> future, String what) {
    try {
      return future.toCompletionStage().toCompletableFuture().get(WAIT_SECONDS, TimeUnit.SECONDS);
    } catch (TimeoutException e) {
      throw new IllegalStateException(what + " did not finish within " + WAIT_SECONDS + " s", e);
    } catch (ExecutionException e) {
      throw new IllegalStateException(what + " failed: " + e.getCause().getMessage(), e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted: " + what, e);
    }
  }
}
