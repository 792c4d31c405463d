package io.streamrlhf.actors;

import io.streamrlhf.schemas.WeightModel;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.ThreadingModel;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.file.FileSystemOptions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * One actor as deployed: its {@link RolloutActor} and a {@link WeightSubscriber} for the policy
 * (and one for the reward model when its reward follows published versions), worker verticles that
 * talk only by event-bus messages. Several nodes may share one Vert.x (in-process PPO runs N actors
 * in one JVM); {@code rlhf actor} runs one per process.
 *
 * <p>The node fails as a whole: when any of its verticles fails ({@link VerticleFailure}), {@link
 * #ended} fails, and its owner stops it (a process then exits 1, or 2 for a {@link
 * LearnerMismatch}; the in-process loop deploys a fresh node, see {@link Supervisor}).
 */
public final class ActorNode implements Supervisor.Part {
  private final Vertx vertx;
  private final RolloutActor actor;
  private final String actorId;
  private final CompletableFuture<Void> ended = new CompletableFuture<>();
  private String actorDeployment;
  private final List<String> subscriberDeployments = new ArrayList<>();
  private boolean stopped;

  private ActorNode(Vertx vertx, RolloutActor actor, String actorId) {
    this.vertx = vertx;
    this.actor = actor;
    this.actorId = actorId;
    actor
        .ended()
        .whenComplete(
            (ok, failure) -> {
              if (failure == null) ended.complete(null);
              else ended.completeExceptionally(failure);
            });
  }

  /**
   * A Vert.x for actors: sampling a batch may hold a worker thread for minutes on a large model,
   * which is expected here, so the blocked-thread warning only fires after 10 minutes.
   */
  public static Vertx newVertx() {
    return Vertx.vertx(
        new VertxOptions()
            .setFileSystemOptions(fileSystemOptions())
            .setMaxWorkerExecuteTime(10)
            .setMaxWorkerExecuteTimeUnit(TimeUnit.MINUTES));
  }

  /**
   * Vert.x's file-system options for every Vert.x of this project: nothing is read through its file
   * resolver (pages are class-path resources read directly), so it resolves no class-path files and
   * makes no {@code vertx-cache-*} directory in the temporary directory, which a process killed
   * before closing Vert.x would leave behind.
   */
  public static FileSystemOptions fileSystemOptions() {
    return new FileSystemOptions().setClassPathResolvingEnabled(false).setFileCachingEnabled(false);
  }

  /**
   * Deploys the actor, then its subscribers, and waits until all started; when one does not start,
   * undeploys those that did (closing their clients) and throws.
   */
  public static ActorNode deploy(
      Vertx vertx, ActorSettings settings, RolloutActor.Models models, Consumer<String> log) {
    var actor = new RolloutActor(settings, models, log);
    var node = new ActorNode(vertx, actor, settings.actorId());
    var worker = new DeploymentOptions().setThreadingModel(ThreadingModel.WORKER);
    // the actor first: it registers the event-bus address the subscriber sends versions to
    node.actorDeployment =
        await(vertx.deployVerticle(actor, worker), settings.actorId() + " rollout actor");
    var followed = new ArrayList<WeightModel>(List.of(WeightModel.POLICY));
    if (models.reward().followsPublishedVersions()) followed.add(WeightModel.REWARD);
    try {
      for (var model : followed) {
        var subscriber =
            new WeightSubscriber(
                settings.actorId(),
                settings.kafka(),
                model,
                settings.weightKeys().verifier(model),
                model == WeightModel.POLICY ? settings.weightStore() : null,
                log);
        if (model == WeightModel.POLICY) subscriber.deliveringTo(actor.policyMailbox());
        // with an offline reward model the actor scores from the start, and a reward trainer may
        // never run: silence on the reward topic is news only once one has published
        boolean offline = models.reward() instanceof ActorReward.Offline;
        subscriber.quiet(settings.quietLog(), model == WeightModel.REWARD && offline);
        subscriber.ended().exceptionally(node::failed);
        node.subscriberDeployments.add(
            await(
                vertx.deployVerticle(subscriber, worker),
                settings.actorId() + " " + model + " weight subscriber"));
      }
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

  public String actorId() {
    return actorId;
  }

  /**
   * Completes when the actor stops; exceptionally, with a {@link VerticleFailure} naming the
   * verticle and the cause, when the actor gave up or any of its verticles failed.
   */
  @Override
  public CompletableFuture<Void> ended() {
    return ended;
  }

  /**
   * Undeploys its verticles (closing their Kafka clients: the group rebalances promptly); once,
   * later calls return at once.
   */
  @Override
  public synchronized void stop() {
    if (stopped) return;
    stopped = true;
    for (var deployment : subscriberDeployments) {
      await(vertx.undeploy(deployment), actorId + " weight subscriber stop");
    }
    await(vertx.undeploy(actorDeployment), actorId + " rollout actor stop");
  }

  static <T> T await(Future<T> future, String what) {
    try {
      return future.toCompletionStage().toCompletableFuture().get(2, TimeUnit.MINUTES);
    } catch (java.util.concurrent.TimeoutException e) {
      throw new IllegalStateException(what + " did not finish within 2 minutes", e);
    } catch (java.util.concurrent.ExecutionException e) {
      throw new IllegalStateException(what + " failed: " + e.getCause().getMessage(), e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted: " + what, e);
    }
  }
}
