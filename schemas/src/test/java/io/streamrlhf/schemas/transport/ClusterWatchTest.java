package io.streamrlhf.schemas.transport;

import static org.assertj.core.api.Assertions.assertThat;

import org.apache.kafka.common.ClusterResource;
import org.junit.jupiter.api.Test;

class ClusterWatchTest {
  @Test
  void theSameClusterAnsweringAgainIsNoChangeAnotherOneIs() {
    var watch = new ClusterWatch();
    watch.onUpdate(new ClusterResource(null)); // a metadata response without an id says nothing
    watch.onUpdate(new ClusterResource("a"));
    watch.onUpdate(new ClusterResource("a"));
    assertThat(watch.changed()).isEmpty();

    watch.onUpdate(new ClusterResource("b"));
    watch.onUpdate(new ClusterResource("c"));
    assertThat(watch.changed()).contains(new ClusterWatch.Change("a", "b"));
    assertThat(watch.deserialize("t", new byte[] {1, 2})).containsExactly(1, 2);
  }
}
