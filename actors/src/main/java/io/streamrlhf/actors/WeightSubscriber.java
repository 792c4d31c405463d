package io.streamrlhf.actors;

import io.streamrlhf.schemas.PublishedWeights;
import io.streamrlhf.schemas.Topics;
import io.streamrlhf.schemas.WeightModel;
import io.streamrlhf.schemas.WeightStore;
import io.streamrlhf.schemas.signing.WeightVerifier;
import io.streamrlhf.schemas.transport.KafkaAccess;
import io.streamrlhf.schemas.transport.KafkaClientConfigs;
import io.streamrlhf.schemas.transport.KafkaRefusal;
import io.streamrlhf.schemas.transport.WeightFeed;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import java.time.Duration;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;

/**
 * Reads one model's weight topic ({@code rlhf.policy-weights} or {@code rlhf.reward-weights}) from
 * the beginning (no consumer group: every actor sees every chunk, and compaction keeps the newest
 * whole version, so a late joiner starts from it) and sends each whole, SHA-256-verified version to
 * its rollout actor as a message. {@link WeightFeed} and its {@link
 * io.streamrlhf.schemas.WeightAssembler} guarantee that a missing or corrupted chunk never yields a
 * version: the actor keeps its last good one. With a trusted key ({@link WeightVerifier}), a
 * version the key did not sign is ignored the same way, and logged once; without one, every whole
 * version is applied, and the subscriber says so once at start.
 *
 * <p>A worker verticle: its Kafka consumer is touched only by its own (serialized) context. It
 * polls in short rounds and re-queues itself, so undeploying stops it between polls. A failed poll
 * is retried; a login or permission the cluster refused ({@link KafkaRefusal}), a pointer without a
 * store, and anything that escapes a round (an {@link Error}) end it ({@link #ended}), and with it
 * the actor's process: an actor whose policy can no longer advance must not go on quietly.
 */
public final class WeightSubscriber extends VerticleBase {
  private static final Duration POLL = Duration.ofMillis(200);
  private static final Duration CATCH_UP = Duration.ofSeconds(60);
  private static final Duration CLOSE = Duration.ofSeconds(5);

  private final String actorId;
  private final KafkaAccess kafka;
  private final WeightModel model;
  private final WeightVerifier verifier;
  private final WeightStore store;
  private final Consumer<String> log;

  /** Say so when no new version arrived for this long (the publisher may be slow, or gone). */
  private Duration quietLog = ActorSettings.DEFAULT_QUIET_LOG;

  /** Say nothing about silence before the first version: the actor holds one, and none may come. */
  private boolean silentUntilFirstVersion;

  /** Where whole versions go: the actor's event-bus address, or its {@link PolicyMailbox}. */
  private Consumer<PublishedWeights> deliver;

  private final CompletableFuture<Void> ended = new CompletableFuture<>();
  private KafkaConsumer<byte[], byte[]> consumer;
  private KafkaProducer<byte[], byte[]> deadLetters;
  private WeightFeed feed;
  private volatile boolean running;
  private long lastNews;

  /**
   * Follows {@code model}'s weight topic for the actor {@code actorId}, handing over only versions
   * {@code verifier} admits; versions published as pointers are read from {@code store} (null: the
   * first admitted pointer ends the subscriber, and with it the actor, saying to give it one).
   */
  public WeightSubscriber(
      String actorId,
      KafkaAccess kafka,
      WeightModel model,
      WeightVerifier verifier,
      WeightStore store,
      Consumer<String> log) {
    this.store = store;
    this.actorId = actorId;
    this.kafka = kafka;
    this.model = model;
    this.verifier = verifier;
    this.log = log;
  }

  /**
   * Hands whole versions straight to {@code mailbox} instead of the event bus, so an actor busy
   * sampling a batch can see them between decode steps (an in-flight swap).
   */
  WeightSubscriber deliveringTo(PolicyMailbox mailbox) {
    this.deliver = mailbox::offer;
    return this;
  }

  /**
   * Says after {@code period} without a new version that none came; with {@code
   * silentUntilFirstVersion}, only once a first version has come (an actor that already holds an
   * offline reward model).
   */
  WeightSubscriber quiet(Duration period, boolean silentUntilFirstVersion) {
    this.quietLog = period;
    this.silentUntilFirstVersion = silentUntilFirstVersion;
    return this;
  }

  /** Completes when the subscriber stops: normally on undeploy, exceptionally when it failed. */
  public CompletableFuture<Void> ended() {
    return ended;
  }

  @Override
  public Future<?> start() {
    ActorEvents.registerCodecs(vertx);
    context.exceptionHandler(this::fail);
    if (deliver == null) deliver = w -> vertx.eventBus().send(ActorEvents.weights(actorId), w);
    var clientId = actorId + "-" + model.name().toLowerCase(Locale.ROOT) + "-weights";
    consumer = new KafkaConsumer<>(KafkaClientConfigs.weightsConsumer(kafka, clientId));
    deadLetters = new KafkaProducer<>(KafkaClientConfigs.producer(kafka, clientId + "-dlq"));
    feed =
        new WeightFeed(
            consumer,
            model,
            deadLetters,
            clientId,
            verifier,
            why -> log.accept(actorId + ": " + why),
            store);
    log.accept(
        verifier.checksSignatures()
            ? String.format(
                "%s: applies only %s versions signed by key %s",
                actorId, what(), verifier.trustedKeyId().orElseThrow())
            : String.format(
                "%s: applies %s versions unchecked: no public key to verify their signatures"
                    + " (rlhf actor --%s)",
                actorId,
                what(),
                model == WeightModel.POLICY ? "weights-key" : "reward-weights-key"));
    running = true;
    lastNews = System.nanoTime();
    context.runOnContext(v -> catchUp());
    return Future.succeededFuture();
  }

  /** "policy" or "reward model", for the log. */
  private String what() {
    return switch (model) {
      case POLICY -> "policy";
      case REWARD -> "reward model";
    };
  }

  /**
   * A late joiner reads the log to its end first and hands over only the newest whole version in
   * it.
   */
  private void catchUp() {
    try {
      feed.catchUp(CATCH_UP)
          .ifPresent(
              newest -> {
                log.accept(
                    String.format(
                        "%s: newest whole %s version on %s is v%d",
                        actorId, what(), Topics.weights(model), newest.version()));
                deliver.accept(newest);
              });
    } catch (WeightFeed.NoStoreException e) {
      fail(new LearnerMismatch(e.getMessage())); // the actor's flags, not the learner's: exit 2
      return;
    } catch (RuntimeException e) {
      if (KafkaRefusal.in(e) != null) {
        fail(e); // as in a round: no retry mends it
        return;
      }
      log.accept(
          String.format(
              "%s: could not read %s to its end within %d s (%s); following it from where it got",
              actorId, Topics.weights(model), CATCH_UP.toSeconds(), e.getMessage()));
    }
    context.runOnContext(v -> round());
  }

  private void round() {
    if (!running) return;
    try {
      var done = feed.poll(POLL);
      if (done.isPresent()) {
        lastNews = System.nanoTime();
        deliver.accept(done.get());
        feed.lastReceipt()
            .ifPresent(
                r ->
                    vertx
                        .eventBus()
                        .publish(
                            ActorEvents.RECEIVED,
                            ActorEvents.received(
                                actorId, r, model.name().toLowerCase(Locale.ROOT), lastNews)));
      } else if (System.nanoTime() - lastNews > quietLog.toNanos()
          && !(silentUntilFirstVersion && feed.assembler().latestVersion().isEmpty())) {
        lastNews = System.nanoTime();
        log.accept(
            String.format(
                "%s: no new %s version for %d s (newest whole: %s%s, %s)",
                actorId,
                what(),
                quietLog.toSeconds(),
                feed.assembler().latestVersion().isPresent()
                    ? "v" + feed.assembler().latestVersion().getAsLong()
                    : "none",
                feed.assembler().pending().map(p -> ", collecting " + p).orElse(""),
                feed.assembler().counts()));
      }
    } catch (WeightFeed.NoStoreException e) {
      // no retry mends it: the actor ends, saying why, as the user's mistake (exit 2)
      fail(new LearnerMismatch(e.getMessage()));
      return;
    } catch (RuntimeException e) {
      if (KafkaRefusal.in(e) != null) {
        // a login refused, or a topic this user may not read or dead-letter to: the actor ends,
        // saying why, rather than logging the same refusal every poll
        fail(e);
        return;
      }
      log.accept(actorId + ": " + what() + " weight subscriber poll failed, retrying: " + e);
    }
    context.runOnContext(v -> round());
  }

  /** Stops on its own, closing its clients, and fails {@link #ended} with a VerticleFailure. */
  private void fail(Throwable e) {
    if (ended.isDone()) return;
    running = false;
    var failure = new VerticleFailure(actorId + "'s " + what() + " weight subscriber", e);
    log.accept(actorId + ": stopping: " + failure.getMessage());
    closeClients();
    ended.completeExceptionally(failure);
  }

  @Override
  public Future<?> stop() {
    running = false;
    closeClients();
    ended.complete(null);
    return Future.succeededFuture();
  }

  private void closeClients() {
    try {
      if (consumer != null) consumer.close(CLOSE);
    } catch (RuntimeException e) {
      log.accept(actorId + ": closing the " + what() + " weight consumer failed: " + e);
    } finally {
      consumer = null;
    }
    try {
      if (deadLetters != null) deadLetters.close(CLOSE);
    } catch (RuntimeException e) {
      log.accept(actorId + ": closing the " + what() + " dead-letter producer failed: " + e);
    } finally {
      deadLetters = null;
    }
  }
}
