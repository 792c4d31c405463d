package io.streamrlhf.actors;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamrlhf.schemas.PublishedWeights;
import io.streamrlhf.schemas.WeightModel;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;

class PolicyMailboxTest {
  private static PublishedWeights version(long v) {
    return new PublishedWeights(WeightModel.POLICY, v, new byte[0], Map.of(), Instant.EPOCH);
  }

  @Test
  void keepsOnlyTheNewestVersionUntilTakenOnce() {
    var mailbox = new PolicyMailbox();
    assertThat(mailbox.take()).isNull();
    mailbox.offer(version(3));
    mailbox.offer(version(5));
    mailbox.offer(version(4)); // late and older: an actor must never step back
    assertThat(mailbox.take().version()).isEqualTo(5);
    assertThat(mailbox.take()).as("taken").isNull();
  }
}
