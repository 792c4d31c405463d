package io.streamrlhf.actors.gateway;

import io.streamrlhf.schemas.Comparison;
import io.streamrlhf.schemas.LabelRequest;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.MessageCodec;

/**
 * Lets the records {@link FeedbackFeed} reads travel to {@link FeedbackGateway} on the local event
 * bus by reference: the feed hands each decoded record over and never touches it again.
 */
final class FeedRecords {
  /**
   * The message the feed sends once it has read both topics to where they ended when it started:
   * from then on the gateway knows every request answered before it, and takes rankings.
   */
  static final String CAUGHT_UP = "caught-up";

  /**
   * What the feed sends when its reading of the topics starts failing, and again (with a null
   * reason) once a round succeeds: the gateway's status says why it is not ready, or is stale.
   */
  record ReaderTrouble(String reason) {}

  private FeedRecords() {}

  /** Registers the codecs on {@code vertx} (idempotent: several gateways may share one Vert.x). */
  static synchronized void registerCodecs(Vertx vertx) {
    register(vertx, LabelRequest.class);
    register(vertx, Comparison.class);
    register(vertx, ReaderTrouble.class);
  }

  private static <T> void register(Vertx vertx, Class<T> type) {
    try {
      vertx.eventBus().registerDefaultCodec(type, new LocalOnly<T>(type.getSimpleName()));
    } catch (IllegalStateException alreadyRegistered) {
      // another gateway in this Vert.x registered it first
    }
  }

  private record LocalOnly<T>(String type) implements MessageCodec<T, T> {
    @Override
    public void encodeToWire(Buffer buffer, T record) {
      throw new UnsupportedOperationException(type + " records travel over Kafka, not the bus");
    }

    @Override
    public T decodeFromWire(int pos, Buffer buffer) {
      throw new UnsupportedOperationException(type + " records travel over Kafka, not the bus");
    }

    @Override
    public T transform(T record) {
      return record;
    }

    @Override
    public String name() {
      return "rlhf-gateway-" + type + "-local";
    }

    @Override
    public byte systemCodecID() {
      return -1;
    }
  }
}
