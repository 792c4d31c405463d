package io.streamrlhf.actors;

import io.streamrlhf.schemas.WeightModel;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.Future;
import io.vertx.core.ThreadingModel;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
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
 */
public final class ActorNode {
  private final Vertx vertx;
  private final RolloutActor actor;
  private final String actorId;
  private String actorDeployment;
  private final List<String> subscriberDeployments = new ArrayList<>();

  private ActorNode(Vertx vertx, RolloutActor actor, String actorId) {
    this.vertx = vertx;
    this.actor = actor;
    this.actorId = actorId;
  }

  /**
   * A Vert.x for actors: sampling a batch may hold a worker thread for minutes on a large model,
   * which is expected here, so the blocked-thread warning only fires after 10 minutes.
   */
  public static Vertx newVertx() {
    return Vertx.vertx(
        new VertxOptions()
            .setMaxWorkerExecuteTime(10)
            .setMaxWorkerExecuteTimeUnit(TimeUnit.MINUTES));
  }

  /** Deploys the actor, then its subscribers, and waits until all started. */
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
    for (var model : followed) {
      node.subscriberDeployments.add(
          await(
              vertx.deployVerticle(
                  new WeightSubscriber(
                      settings.actorId(),
                      settings.kafka(),
                      model,
                      settings.weightKeys().verifier(model),
                      log),
                  worker),
              settings.actorId() + " " + model + " weight subscriber"));
    }
    return node;
  }

  public String actorId() {
    return actorId;
  }

  /** Completes when the actor stops; exceptionally when it gave up (the message says why). */
  public CompletableFuture<Void> ended() {
    return actor.ended();
  }

  /** Undeploys its verticles (closing their Kafka clients: the group rebalances promptly). */
  public void stop() {
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
