package io.streamrlhf.actors;

import io.streamrlhf.schemas.PublishedWeights;
import io.streamrlhf.schemas.transport.WeightFeed;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.MessageCodec;
import io.vertx.core.json.JsonObject;

/**
 * The event-bus messages between an actor's verticles (and to whoever watches them): verticles
 * share no mutable state, they hand each other immutable values by message.
 *
 * <ul>
 *   <li>{@link #weights}: the weight subscribers send each whole, verified policy or reward-model
 *       version to their rollout actor (local only: a snapshot is never serialized, only passed by
 *       reference);
 *   <li>{@link #APPLIED}: a rollout actor publishes {@code {actorId, version, publishToApplyMs,
 *       loadMs, joined}} each time it swaps to a new policy version (progress lines, stats, tests);
 *       {@code joined}: the version was published before the actor started, so publishToApplyMs
 *       measures its joining rather than the weight path;
 *   <li>{@link #REWARD_APPLIED}: the same, plus {@code appliedAt}, each time it swaps to a new
 *       reward-model version: from then on it scores with it, so a ranking's way into a score can
 *       be timed (ranking → reward trainer → published version → applied here);
 *   <li>{@link #RECEIVED}: a weight subscriber publishes {@code {actorId, model, version,
 *       firstChunkAt, lastChunkAt, assembledAt, verifiedAt, sentAt}} (this process's {@code
 *       System.nanoTime}) each time it hands a version over, so an in-process bench can split
 *       publish-to-apply into fetch, assembly and hand-over.
 * </ul>
 */
public final class ActorEvents {
  /** Published (JSON) by every rollout actor when it applies a policy version. */
  public static final String APPLIED = "rlhf.actor.weights-applied";

  /** Published (JSON) by every rollout actor when it applies a reward-model version. */
  public static final String REWARD_APPLIED = "rlhf.actor.reward-applied";

  /** Published (JSON) by every weight subscriber when it hands a whole version to its actor. */
  public static final String RECEIVED = "rlhf.actor.weights-received";

  private ActorEvents() {}

  /** The RECEIVED message (see the class comment). */
  public static JsonObject received(
      String actorId, WeightFeed.Receipt receipt, String model, long sentAt) {
    return new JsonObject()
        .put("actorId", actorId)
        .put("model", model)
        .put("version", receipt.version())
        .put("firstChunkAt", receipt.firstChunkAt())
        .put("lastChunkAt", receipt.lastChunkAt())
        .put("assembledAt", receipt.assembledAt())
        .put("verifiedAt", receipt.verifiedAt())
        .put("fetchedAt", receipt.fetchedAt())
        .put("sentAt", sentAt);
  }

  /**
   * Where the weight subscribers of actor {@code actorId} send verified versions (either model).
   */
  public static String weights(String actorId) {
    return "rlhf.actor." + actorId + ".weights";
  }

  /**
   * The APPLIED message: publish-to-apply counts from the publisher's start (so it includes any
   * wait for the batch the actor was sampling); loadMs is the actor's own share, parsing and
   * copying the verified weights into its policy.
   */
  public static JsonObject applied(
      String actorId, long version, long publishToApplyMs, double loadMs) {
    return new JsonObject()
        .put("actorId", actorId)
        .put("version", version)
        .put("publishToApplyMs", publishToApplyMs)
        .put("loadMs", loadMs);
  }

  /**
   * The REWARD_APPLIED message: as {@link #applied}, and {@code appliedAt} (epoch milliseconds),
   * the moment from which the actor's next batch scores with {@code version}.
   */
  public static JsonObject rewardApplied(
      String actorId, long version, long publishToApplyMs, double loadMs, long appliedAt) {
    return applied(actorId, version, publishToApplyMs, loadMs).put("appliedAt", appliedAt);
  }

  /**
   * Lets snapshots travel on {@code vertx}'s event bus (idempotent: several actors may share one
   * Vert.x).
   */
  public static synchronized void registerCodecs(Vertx vertx) {
    try {
      vertx.eventBus().registerDefaultCodec(PublishedWeights.class, new LocalOnly());
    } catch (IllegalStateException alreadyRegistered) {
      // another actor in this Vert.x registered it first
    }
  }

  /** Passes the (immutable) snapshot by reference; refuses to cross a process boundary. */
  private static final class LocalOnly implements MessageCodec<PublishedWeights, PublishedWeights> {
    @Override
    public void encodeToWire(Buffer buffer, PublishedWeights snapshot) {
      throw new UnsupportedOperationException(
          "weight snapshots travel over Kafka, not a clustered event bus");
    }

    @Override
    public PublishedWeights decodeFromWire(int pos, Buffer buffer) {
      throw new UnsupportedOperationException(
          "weight snapshots travel over Kafka, not a clustered event bus");
    }

    @Override
    public PublishedWeights transform(PublishedWeights snapshot) {
      return snapshot;
    }

    @Override
    public String name() {
      return "rlhf-weight-snapshot-local";
    }

    @Override
    public byte systemCodecID() {
      return -1;
    }
  }
}
