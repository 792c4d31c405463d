package io.streamrlhf.infra.kafka;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.turbo.TurboFilter;
import ch.qos.logback.core.spi.FilterReply;
import org.slf4j.Marker;

/**
 * Drops the one warning a healthy in-process KRaft node logs as it stops: its registration channel
 * closes a Kafka {@code NetworkClient} twice, and the second close warns "Attempting to close
 * NetworkClient that has already been closed." Every demo and every PPO run ended on that line,
 * which reads as a fault and is none; every other {@code NetworkClient} warning (a broker that
 * cannot be reached, say) still reaches the terminal. Registered in {@code logback.xml}.
 */
public final class ShutdownWarningFilter extends TurboFilter {
  static final String LOGGER = "org.apache.kafka.clients.NetworkClient";
  static final String MESSAGE = "Attempting to close NetworkClient that has already been closed.";

  @Override
  public FilterReply decide(
      Marker marker, Logger logger, Level level, String format, Object[] params, Throwable t) {
    // Kafka's LogContext puts "[client or channel] " before the message, so match its end.
    boolean doubleClose =
        level == Level.WARN
            && format != null
            && format.endsWith(MESSAGE)
            && LOGGER.equals(logger.getName());
    return doubleClose ? FilterReply.DENY : FilterReply.NEUTRAL;
  }
}
