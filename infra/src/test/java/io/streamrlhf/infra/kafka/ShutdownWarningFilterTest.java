package io.streamrlhf.infra.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import org.apache.kafka.clients.NetworkClient;
import org.apache.kafka.common.utils.LogContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** The CLI's logback.xml drops Kafka's double-close warning and nothing else NetworkClient says. */
class ShutdownWarningFilterTest {
  private final Logger networkClient = (Logger) LoggerFactory.getLogger(NetworkClient.class);
  private final ListAppender<ILoggingEvent> seen = new ListAppender<>();

  @BeforeEach
  void listen() {
    seen.start();
    networkClient.addAppender(seen);
  }

  @AfterEach
  void stopListening() {
    networkClient.detachAppender(seen);
  }

  @Test
  void theBrokersDoubleCloseIsDroppedAndAnUnreachableBrokerStillWarns() {
    // Logged as Kafka logs them: through a LogContext, which puts the channel's name in front.
    var log =
        new LogContext("[NodeToControllerChannelManager id=1 name=registration] ")
            .logger(NetworkClient.class);
    log.warn("Attempting to close NetworkClient that has already been closed.");
    log.warn(
        "Connection to node {} ({}) could not be established. Node may not be available.",
        1,
        "/127.0.0.1:9092");

    assertThat(seen.list)
        .extracting(ILoggingEvent::getFormattedMessage)
        .containsExactly(
            "[NodeToControllerChannelManager id=1 name=registration] Connection to node 1"
                + " (/127.0.0.1:9092) could not be established. Node may not be available.");
  }
}
