package io.streamrlhf.schemas;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.apache.kafka.common.config.TopicConfig;

/**
 * The topics of the loop (DESIGN.md, "The loop"): the one place their names, partition counts and
 * configs live. Provisioning (infra's TopicProvisioner) creates exactly the {@link #provisioned}
 * ones: those a process of the loop reads or writes today.
 */
public final class Topics {
  public static final String PROMPTS = "rlhf.prompts";
  public static final String ROLLOUTS = "rlhf.rollouts";
  public static final String POLICY_WEIGHTS = "rlhf.policy-weights";
  public static final String REWARD_WEIGHTS = "rlhf.reward-weights";
  public static final String LABEL_REQUESTS = "rlhf.label-requests";
  public static final String COMPARISONS = "rlhf.comparisons";
  public static final String DEAD_LETTER = "rlhf.dead-letter";

  /**
   * Largest record the topics accept: Kafka's default (message.max.bytes is 1 MiB + 12 bytes of
   * batch overhead); kept explicit so producers' max.request.size and weight chunks agree with it.
   */
  public static final int MAX_RECORD_BYTES = 1 << 20;

  /**
   * Prompts are spread over this many partitions by default: the most actors one consumer group can
   * keep busy at once (Kafka assigns each partition to one member); a learner's {@code
   * prompt_partitions} creates the topic with more.
   */
  public static final int PROMPT_PARTITIONS = 4;

  /** Rollouts: several partitions so actors produce in parallel; the learner reads them all. */
  public static final int ROLLOUT_PARTITIONS = 4;

  /**
   * Weight topics: a version's chunks are spread over this many partitions (chunk i on partition i
   * mod 4, {@link io.streamrlhf.schemas.transport.WeightPublisher}), so one produce request carries
   * a batch of each (the record limit caps a batch, not a request) and one fetch returns a batch of
   * each; on a single partition a 13 MB version took ~18 serial 1 MiB requests each way.
   */
  public static final int WEIGHT_PARTITIONS = 4;

  private static final String WEEK_MS = Long.toString(Duration.ofDays(7).toMillis());

  /**
   * Weight topics are compacted on the key {@code <model>/<chunkIndex>} (see {@link
   * WeightChunker#key}): compaction keeps the newest chunk for every index, so the log always holds
   * the newest whole version and a late-joining actor that reads from the beginning finds it, while
   * old versions are garbage-collected. Chunk i always goes to partition i mod {@link
   * #WEIGHT_PARTITIONS}, so each key stays on one partition and compaction keeps working; chunks of
   * a version are in order within a partition, not across them, which the assembler does not need.
   * min.compaction.lag.ms keeps a complete version intact for a while after a newer one starts, so
   * a reader catching up does not lose the old version to a half-published new one.
   */
  private static Map<String, String> weightConfigs() {
    return Map.of(
        TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT,
        TopicConfig.MIN_COMPACTION_LAG_MS_CONFIG, Long.toString(Duration.ofMinutes(5).toMillis()),
        TopicConfig.SEGMENT_BYTES_CONFIG, Integer.toString(64 << 20),
        TopicConfig.MAX_MESSAGE_BYTES_CONFIG, Integer.toString(MAX_RECORD_BYTES + 12));
  }

  private static final List<TopicSpec> ALL =
      List.of(
          new TopicSpec(
              PROMPTS,
              PROMPT_PARTITIONS,
              Map.of(TopicConfig.RETENTION_MS_CONFIG, WEEK_MS),
              Prompt.class),
          new TopicSpec(
              ROLLOUTS,
              ROLLOUT_PARTITIONS,
              Map.of(TopicConfig.RETENTION_MS_CONFIG, WEEK_MS),
              Rollout.class),
          new TopicSpec(POLICY_WEIGHTS, WEIGHT_PARTITIONS, weightConfigs(), WeightChunk.class),
          new TopicSpec(REWARD_WEIGHTS, WEIGHT_PARTITIONS, weightConfigs(), WeightChunk.class),
          new TopicSpec(
              LABEL_REQUESTS,
              1,
              Map.of(TopicConfig.RETENTION_MS_CONFIG, WEEK_MS),
              LabelRequest.class),
          // Comparisons are training data for the reward model: keep them.
          new TopicSpec(
              COMPARISONS, 1, Map.of(TopicConfig.RETENTION_MS_CONFIG, "-1"), Comparison.class),
          new TopicSpec(
              DEAD_LETTER, 1, Map.of(TopicConfig.RETENTION_MS_CONFIG, "-1"), DeadLetter.class));

  /**
   * The topics something reads or writes today: every topic of the loop, now that actors publish
   * label requests and follow reward weights, simulated labelers and the feedback gateway turn the
   * requests into comparisons, and the reward trainer publishes reward weights. A topic joins this
   * set together with its first user, so a cluster holds no topic nothing reads.
   */
  private static final Set<String> IN_USE =
      Set.of(
          PROMPTS,
          ROLLOUTS,
          POLICY_WEIGHTS,
          REWARD_WEIGHTS,
          LABEL_REQUESTS,
          COMPARISONS,
          DEAD_LETTER);

  private static final List<TopicSpec> PROVISIONED =
      ALL.stream().filter(t -> IN_USE.contains(t.name())).toList();

  private Topics() {}

  /** Every topic of the loop, in the order of the diagram, whether anything uses it yet or not. */
  public static List<TopicSpec> all() {
    return ALL;
  }

  /**
   * The topics provisioning creates: those the loop reads or writes today, in the diagram's order.
   */
  public static List<TopicSpec> provisioned() {
    return PROVISIONED;
  }

  /**
   * {@link #provisioned} with {@link #PROMPTS} on {@code promptPartitions} partitions: the most
   * actors that can sample at once, for a cluster that runs more than {@link #PROMPT_PARTITIONS}.
   */
  public static List<TopicSpec> provisioned(int promptPartitions) {
    // TopicSpec refuses fewer than one partition
    return PROVISIONED.stream()
        .map(
            t ->
                t.name().equals(PROMPTS)
                    ? new TopicSpec(t.name(), promptPartitions, t.configs(), t.valueType())
                    : t)
        .toList();
  }

  public static Optional<TopicSpec> byName(String name) {
    return ALL.stream().filter(t -> t.name().equals(name)).findFirst();
  }

  /** The weights topic of a model. */
  public static String weights(WeightModel model) {
    return switch (model) {
      case POLICY -> POLICY_WEIGHTS;
      case REWARD -> REWARD_WEIGHTS;
    };
  }
}
