package io.streamrlhf.schemas;

import java.util.Map;
import org.apache.avro.specific.SpecificRecord;

/**
 * One topic of the loop: its name, how many partitions it gets when provisioned, its topic-level
 * configs (Kafka's {@code TopicConfig} keys) and the record type its values carry.
 */
public record TopicSpec(
    String name,
    int partitions,
    Map<String, String> configs,
    Class<? extends SpecificRecord> valueType) {
  public TopicSpec {
    if (partitions < 1) {
      throw new IllegalArgumentException(
          "topic " + name + " needs at least one partition, got " + partitions);
    }
    configs = Map.copyOf(configs);
  }
}
