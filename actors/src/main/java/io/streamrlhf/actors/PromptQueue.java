package io.streamrlhf.actors;

import io.streamrlhf.schemas.Prompt;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

/**
 * The prompts an actor has polled but not yet answered, and the offsets it may commit.
 *
 * <p>At-least-once by construction: a partition's committable offset is the lowest offset still
 * queued in it (or one past the last polled record when none is), so an offset is committed only
 * after the rollouts of every prompt before it were acknowledged by the broker. An actor killed
 * mid-run therefore loses no prompt for good: its partitions go to another member of the group,
 * which resumes from the committed offsets (a prompt answered but not yet committed is answered
 * again; the learner drops the duplicate rollout ids).
 *
 * <p>Owned by one rollout actor's context; not thread-safe.
 */
final class PromptQueue {
  /** A polled prompt and where it came from. */
  record Queued(Prompt prompt, TopicPartition partition, long offset) {}

  private final List<Queued> queued = new ArrayList<>();
  private final Map<TopicPartition, Long> nextAfterPolled = new HashMap<>();

  void add(Prompt prompt, TopicPartition partition, long offset) {
    queued.add(new Queued(prompt, partition, offset));
    nextAfterPolled.merge(partition, offset + 1, Math::max);
  }

  boolean isEmpty() {
    return queued.isEmpty();
  }

  int size() {
    return queued.size();
  }

  /** The smallest version some queued prompt asks for. */
  long lowestMinVersion() {
    return queued.stream()
        .mapToLong(q -> q.prompt().getMinPolicyVersion())
        .min()
        .orElse(Long.MAX_VALUE);
  }

  /**
   * Whether some queued prompt is samplable with policy {@code version} (none without a policy,
   * version < 0).
   */
  boolean hasEligible(long version) {
    return version >= 0 && lowestMinVersion() <= version;
  }

  /**
   * Up to {@code max} prompts samplable with policy {@code version}, lowest minPolicyVersion first
   * (then poll order), removed from the queue.
   */
  List<Queued> takeEligible(long version, int max) {
    var eligible =
        queued.stream()
            .filter(q -> q.prompt().getMinPolicyVersion() <= version)
            .sorted(Comparator.comparingLong((Queued q) -> q.prompt().getMinPolicyVersion()))
            .limit(max)
            .toList();
    queued.removeAll(eligible);
    return eligible;
  }

  /** Offsets safe to commit now, for every partition polled from. */
  Map<TopicPartition, OffsetAndMetadata> committable() {
    var offsets = new HashMap<TopicPartition, OffsetAndMetadata>();
    for (var entry : nextAfterPolled.entrySet()) {
      long next = entry.getValue();
      for (var q : queued) {
        if (q.partition().equals(entry.getKey())) next = Math.min(next, q.offset());
      }
      offsets.put(entry.getKey(), new OffsetAndMetadata(next));
    }
    return offsets;
  }

  /**
   * Forgets revoked partitions: their unanswered prompts will be polled again by the new owner from
   * the committed offset.
   */
  void revoke(Collection<TopicPartition> partitions) {
    queued.removeIf(q -> partitions.contains(q.partition()));
    partitions.forEach(nextAfterPolled::remove);
  }
}
