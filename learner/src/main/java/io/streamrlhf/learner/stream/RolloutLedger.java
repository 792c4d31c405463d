package io.streamrlhf.learner.stream;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.streamrlhf.model.checkpoint.Json;
import java.util.BitSet;
import java.util.Map;
import java.util.TreeMap;

/**
 * Which rollouts the learner has consumed (applied to an update, or dropped as too stale), by
 * (batch, prompt, sample): the dedupe half of exactly-once. Kafka offsets in the checkpoint make
 * sure no rollout is skipped or read twice by the learner; but actors are at-least-once (an actor
 * killed after producing and before committing its prompt offset answers the prompt again), and a
 * restarted learner may publish a prompt batch twice, so the same rollout id can appear twice on
 * the topic. The ledger, saved in the same checkpoint, turns that into exactly-once application.
 *
 * <p>Bounded: batches whose every slot is consumed fold into a watermark.
 */
final class RolloutLedger {
  private final int slotsPerBatch;
  private final int responsesPerPrompt;
  private long completeBelow;
  private final TreeMap<Long, BitSet> partial = new TreeMap<>();

  RolloutLedger(int promptsPerBatch, int responsesPerPrompt) {
    this.slotsPerBatch = promptsPerBatch * responsesPerPrompt;
    this.responsesPerPrompt = responsesPerPrompt;
  }

  /** Whether the slot is valid for this run's shape at all. */
  boolean fits(PromptId id, int sampleIndex) {
    return id.batch() >= 0
        && id.index() >= 0
        && sampleIndex >= 0
        && sampleIndex < responsesPerPrompt
        && slot(id, sampleIndex) < slotsPerBatch;
  }

  boolean consumed(PromptId id, int sampleIndex) {
    if (id.batch() < completeBelow) return true;
    var bits = partial.get(id.batch());
    return bits != null && bits.get(slot(id, sampleIndex));
  }

  void markConsumed(PromptId id, int sampleIndex) {
    if (id.batch() < completeBelow) return; // already folded into the watermark
    partial.computeIfAbsent(id.batch(), b -> new BitSet(slotsPerBatch)).set(slot(id, sampleIndex));
    while (partial.containsKey(completeBelow)
        && partial.get(completeBelow).cardinality() == slotsPerBatch) {
      partial.remove(completeBelow);
      completeBelow++;
    }
  }

  /** The oldest batch with a rollout not yet consumed. */
  long firstOpenBatch() {
    return completeBelow;
  }

  /** Whether every rollout of batches {@code 0..batch} has been consumed. */
  boolean allConsumedThrough(long batch) {
    return completeBelow > batch;
  }

  private int slot(PromptId id, int sampleIndex) {
    return id.index() * responsesPerPrompt + sampleIndex;
  }

  ObjectNode toJson() {
    var node = Json.MAPPER.createObjectNode().put("complete_below", completeBelow);
    var batches = node.putObject("partial");
    for (Map.Entry<Long, BitSet> e : partial.entrySet()) {
      var slots = batches.putArray(Long.toString(e.getKey()));
      e.getValue().stream().forEach(slots::add);
    }
    return node;
  }

  static RolloutLedger fromJson(JsonNode node, int promptsPerBatch, int responsesPerPrompt) {
    var ledger = new RolloutLedger(promptsPerBatch, responsesPerPrompt);
    ledger.completeBelow = node.get("complete_below").asLong();
    node.get("partial")
        .fields()
        .forEachRemaining(
            e -> {
              var bits = new BitSet(ledger.slotsPerBatch);
              e.getValue().forEach(slot -> bits.set(slot.asInt()));
              ledger.partial.put(Long.parseLong(e.getKey()), bits);
            });
    return ledger;
  }
}
