package io.streamrlhf.infra.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import ch.qos.logback.core.spi.FilterReply;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.clients.NetworkClient;
import org.apache.kafka.common.utils.LogContext;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** While a broker is away, a client's connection warnings reach the terminal once per 30 s. */
class RepeatedWarningFilterTest {
  private static final String UNREACHABLE =
      "Connection to node {} ({}) could not be established. Node may not be available.";

  @Test
  void aClientsRepeatedWarningPassesOncePerIntervalAndAnotherClientsStillPasses() {
    var now = new AtomicLong();
    var filter = new RepeatedWarningFilter(now::get);
    var networkClient = new LoggerContext().getLogger(NetworkClient.class);
    var consumer = "[Consumer clientId=rlhf-reward-trainer] " + UNREACHABLE;
    var producer = "[Producer clientId=rlhf-gateway] " + UNREACHABLE;

    assertThat(decide(filter, networkClient, consumer)).isEqualTo(FilterReply.NEUTRAL);
    now.addAndGet(RepeatedWarningFilter.EVERY.toNanos() - 1);
    assertThat(decide(filter, networkClient, consumer)).isEqualTo(FilterReply.DENY);
    assertThat(decide(filter, networkClient, producer)).isEqualTo(FilterReply.NEUTRAL);
    now.addAndGet(1);
    assertThat(decide(filter, networkClient, consumer)).isEqualTo(FilterReply.NEUTRAL);
    var disconnected =
        "[Consumer clientId=rlhf-reward-trainer] Bootstrap broker 127.0.0.1:9092 (id: -1 rack:"
            + " null isFenced: false) disconnected";
    assertThat(decide(filter, networkClient, disconnected)).isEqualTo(FilterReply.NEUTRAL);
    assertThat(decide(filter, networkClient, disconnected)).isEqualTo(FilterReply.DENY);
    // another broker's failure is news, as is any other warning
    assertThat(
            filter.decide(
                null,
                networkClient,
                Level.WARN,
                consumer,
                new Object[] {3, "/10.0.0.3:9092"},
                null))
        .isEqualTo(FilterReply.NEUTRAL);
    var other = "[Consumer clientId=rlhf-reward-trainer] Error while fetching metadata: {}";
    assertThat(decide(filter, networkClient, other)).isEqualTo(FilterReply.NEUTRAL);
    assertThat(decide(filter, networkClient, other)).isEqualTo(FilterReply.NEUTRAL);
    // what other loggers say, and NetworkClient's errors, are not its business
    var actor = new LoggerContext().getLogger("io.streamrlhf.actors.RolloutActor");
    assertThat(decide(filter, actor, consumer)).isEqualTo(FilterReply.NEUTRAL);
    assertThat(decide(filter, actor, consumer)).isEqualTo(FilterReply.NEUTRAL);
    assertThat(
            filter.decide(null, networkClient, Level.ERROR, consumer, new Object[] {1, "a"}, null))
        .isEqualTo(FilterReply.NEUTRAL);
  }

  @Test
  void theCliConfigurationLetsAnOutagesFirstWarningThroughAndDropsItsRepeats() {
    var logger = (Logger) LoggerFactory.getLogger(NetworkClient.class);
    var seen = new ListAppender<ILoggingEvent>();
    seen.start();
    logger.addAppender(seen);
    try {
      // a client name of this test's own, so no earlier warning in this JVM counts against it
      var log =
          new LogContext("[Consumer clientId=repeated-warning-test] ").logger(NetworkClient.class);
      for (int retry = 0; retry < 5; retry++) log.warn(UNREACHABLE, 1, "/127.0.0.1:9092");
      assertThat(seen.list).hasSize(1);
      assertThat(seen.list.get(0).getFormattedMessage()).contains("could not be established");
    } finally {
      logger.detachAppender(seen);
    }
  }

  private static FilterReply decide(RepeatedWarningFilter filter, Logger logger, String format) {
    return filter.decide(
        null, logger, Level.WARN, format, new Object[] {1, "/127.0.0.1:9092"}, null);
  }
}
