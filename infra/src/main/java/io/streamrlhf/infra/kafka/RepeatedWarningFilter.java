package io.streamrlhf.infra.kafka;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.turbo.TurboFilter;
import ch.qos.logback.core.spi.FilterReply;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;
import org.slf4j.Marker;

/**
 * Lets each of Kafka's {@code NetworkClient} warnings through once per {@link #EVERY}: while a
 * broker is away, every client retries about once a second and warns twice each time ("could not be
 * established", "Bootstrap broker ... disconnected"), 5-7 lines a second from a gateway, labelers
 * or reward trainer that say the broker is away in their own words anyway. The first warning of an
 * outage still reaches the terminal, then one a client every {@link #EVERY}. Registered in {@code
 * logback.xml}.
 */
public final class RepeatedWarningFilter extends TurboFilter {
  static final Duration EVERY = Duration.ofSeconds(30);

  /** More distinct warnings than this (clients come and go) and the memory starts afresh. */
  private static final int MAX_REMEMBERED = 1_000;

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
        || !ShutdownWarningFilter.LOGGER.equals(logger.getName())) return FilterReply.NEUTRAL;
    // Kafka's LogContext puts the client's name in the format: the same warning of another client
    // is another key; the node and address are parameters, so one key covers a client's retries
    long now = nanoTime.getAsLong();
    if (lastLetThrough.size() > MAX_REMEMBERED) lastLetThrough.clear();
    var last = lastLetThrough.get(format);
    if (last != null && now - last < EVERY.toNanos()) return FilterReply.DENY;
    lastLetThrough.put(format, now);
    return FilterReply.NEUTRAL;
  }
}
