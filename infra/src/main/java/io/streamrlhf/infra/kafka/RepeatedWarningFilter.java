package io.streamrlhf.infra.kafka;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.turbo.TurboFilter;
import ch.qos.logback.core.spi.FilterReply;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;
import org.slf4j.Marker;

/**
 * Lets each of Kafka's {@code NetworkClient} connection warnings through once per {@link #EVERY},
 * per client and broker: while a broker is away, every client retries about once a second and warns
 * twice each time ("could not be established", "Bootstrap broker ... disconnected"), 5-7 lines a
 * second from a gateway, labelers or reward trainer that say the broker is away in their own words
 * anyway. The first warning of an outage still reaches the terminal, then one a client every {@link
 * #EVERY}. Registered in {@code logback.xml}.
 */
public final class RepeatedWarningFilter extends TurboFilter {
  static final Duration EVERY = Duration.ofSeconds(30);

  /** More distinct warnings than this (clients come and go) and the memory starts afresh. */
  private static final int MAX_REMEMBERED = 1_000;

  /** The two warnings of each failed attempt to connect, as Kafka's NetworkClient words them. */
  static final String UNREACHABLE = " could not be established. Node may not be available.";

  private static final String[] DISCONNECTED = {"Bootstrap broker ", " disconnected"};

  private final LongSupplier nanoTime;
  private final Map<String, Long> lastLetThrough = new ConcurrentHashMap<>();

  public RepeatedWarningFilter() {
    this(System::nanoTime);
  }

  RepeatedWarningFilter(LongSupplier nanoTime) {
    this.nanoTime = nanoTime;
  }

  @Override
  public FilterReply decide(
      Marker marker, Logger logger, Level level, String format, Object[] params, Throwable t) {
    if (level != Level.WARN
        || format == null
        || !ShutdownWarningFilter.LOGGER.equals(logger.getName())
        || !(format.endsWith(UNREACHABLE)
            || (format.contains(DISCONNECTED[0]) && format.endsWith(DISCONNECTED[1]))))
      return FilterReply.NEUTRAL;
    // Kafka's LogContext formats the message with the client's name in front before logging it
    // (or leaves node and address as parameters): one key per client and broker, the same on
    // each retry
    var key = format + Arrays.toString(params);
    long now = nanoTime.getAsLong();
    if (lastLetThrough.size() > MAX_REMEMBERED) lastLetThrough.clear();
    var last = lastLetThrough.get(key);
    if (last != null && now - last < EVERY.toNanos()) return FilterReply.DENY;
    lastLetThrough.put(key, now);
    return FilterReply.NEUTRAL;
  }
}
