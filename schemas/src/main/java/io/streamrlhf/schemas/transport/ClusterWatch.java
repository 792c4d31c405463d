package io.streamrlhf.schemas.transport;

import java.util.Optional;
import org.apache.kafka.common.ClusterResource;
import org.apache.kafka.common.ClusterResourceListener;
import org.apache.kafka.common.serialization.Deserializer;

/**
 * Tells whether the cluster behind a bootstrap address changed under a client: a broker replaced by
 * a fresh one at the same address (restarted without its data) answers with another cluster id, and
 * Kafka's clients quietly go on with it. Given to a consumer as its key deserializer (keys pass
 * through unchanged), it hears the cluster id of every metadata response.
 */
public final class ClusterWatch implements Deserializer<byte[]>, ClusterResourceListener {
  private volatile String first;
  private volatile String other;

  @Override
  public void onUpdate(ClusterResource cluster) {
    var id = cluster.clusterId();
    if (id == null) return;
    if (first == null) first = id;
    else if (!first.equals(id) && other == null) other = id;
  }

  @Override
  public byte[] deserialize(String topic, byte[] data) {
    return data;
  }

  /** The first cluster id seen and the other one answering since, once it changed. */
  public Optional<Change> changed() {
    var now = other;
    return now == null ? Optional.empty() : Optional.of(new Change(first, now));
  }

  /** A cluster id change: {@code was} answered first, {@code now} since. */
  public record Change(String was, String now) {}
}
