package io.streamrlhf.infra.dashboard;

import io.streamrlhf.actors.ActorNode;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.HttpServer;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * The run dashboard: one page ({@code /}) that redraws itself every two seconds from {@code
 * /api/run}, a {@link RunSnapshot} of the output directory read on each request (on a worker
 * thread: it reads files).
 */
public final class DashboardServer implements AutoCloseable {
  private static final String PAGE = "/io/streamrlhf/infra/dashboard/index.html";

  private final Vertx vertx;
  private final HttpServer server;

  private DashboardServer(Vertx vertx, HttpServer server) {
    this.vertx = vertx;
    this.server = server;
  }

  /**
   * Serves the run in {@code dir} on {@code host:port} (port 0: a free one).
   *
   * @throws IllegalStateException when the address cannot be listened on
   */
  public static DashboardServer start(Path dir, String host, int port) throws Exception {
    var vertx = Vertx.vertx(new VertxOptions().setFileSystemOptions(ActorNode.fileSystemOptions()));
    byte[] page;
    try (InputStream in = DashboardServer.class.getResourceAsStream(PAGE)) {
      page = in.readAllBytes();
    }
    var router = Router.router(vertx);
    router
        .route("/")
        .method(io.vertx.core.http.HttpMethod.GET)
        .method(io.vertx.core.http.HttpMethod.HEAD) // a health check's: the headers, no body
        .handler(
            ctx -> {
              var response =
                  ctx.response()
                      .putHeader("Content-Type", "text/html; charset=utf-8")
                      .putHeader("X-Content-Type-Options", "nosniff");
              // HEAD: GET's headers and no body; Vert.x drops the body but would leave out its
              // length
              if (ctx.request().method() == io.vertx.core.http.HttpMethod.HEAD)
                response.putHeader("Content-Length", String.valueOf(page.length)).end();
              else response.end(io.vertx.core.buffer.Buffer.buffer(page));
            });
    router.get("/api/run").handler(ctx -> snapshot(vertx, ctx, dir));
    try {
      var server =
          vertx
              .createHttpServer()
              .requestHandler(router)
              .listen(port, host)
              .toCompletionStage()
              .toCompletableFuture()
              .get(30, TimeUnit.SECONDS);
      return new DashboardServer(vertx, server);
    } catch (java.util.concurrent.ExecutionException
        | java.util.concurrent.TimeoutException
        | InterruptedException e) {
      vertx.close();
      if (e instanceof InterruptedException) Thread.currentThread().interrupt();
      var cause = e instanceof java.util.concurrent.ExecutionException ? e.getCause() : e;
      throw new IllegalStateException("cannot listen on " + host + ":" + port + ": " + cause, e);
    }
  }

  private static void snapshot(Vertx vertx, RoutingContext ctx, Path dir) {
    vertx
        .executeBlocking(() -> RunSnapshot.read(dir).toString())
        .onSuccess(
            json ->
                ctx.response()
                    .putHeader("Content-Type", "application/json")
                    .putHeader("Cache-Control", "no-store")
                    .end(json))
        .onFailure(
            e ->
                // a file caught halfway through being written: the page keeps what it drew
                ctx.response()
                    .setStatusCode(503)
                    .putHeader("Content-Type", "application/json")
                    .putHeader("Retry-After", "2")
                    .end(
                        new io.vertx.core.json.JsonObject()
                            .put("error", e.getMessage() != null ? e.getMessage() : e.toString())
                            .encode()));
  }

  /** The port the server listens on. */
  public int port() {
    return server.actualPort();
  }

  @Override
  public void close() throws Exception {
    vertx.close().toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
  }
}
