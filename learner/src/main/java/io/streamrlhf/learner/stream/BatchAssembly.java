package io.streamrlhf.learner.stream;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Which rollouts update u trains on: exactly those of prompt batch u, whatever order they arrive
 * in. The learner at version u trains on batch u, so a rollout's lag is known when it arrives:
 * batch − its policy version. Rollouts of later batches already published are held until their
 * update (at most max_lag + 1 batches are in flight, so the hold is bounded); a rollout too stale
 * for its batch is not used, and its prompt is asked again ({@link Verdict#STALE}) rather than
 * lost.
 *
 * <p>A rollout sampled by a version newer than its batch is used: only actors that hold a version
 * the learner lost can send one (a learner resumed from a checkpoint older than the newest weights
 * it published: the newest was damaged, or the run was resumed from an older copy), and refusing
 * their answers would leave the batch waiting for a version the actors will not go back to.
 * Decoupled PPO needs only the behaviour log-probs they carry.
 *
 * <p>The same batch on every run of the same seed, interrupted or not: a restarted learner trains
 * on the batch it was interrupted on, from the rollouts on the topic. Slots already consumed in the
 * {@link RolloutLedger} (a checkpoint of a learner that filled updates from any batch) count as
 * done.
 *
 * @param <T> what the learner trains on, carried from arrival to {@link #take}
 */
final class BatchAssembly<T> {
  /** What became of an arriving rollout. */
  enum Verdict {
    /** For the batch being assembled. */
    TAKEN,
    /** For a later batch, held until its update. */
    HELD,
    /** Its slot is consumed or already filled: a second answer to the same prompt. */
    DUPLICATE,
    /** Not a slot of this run's shape. */
    FOREIGN,
    /** Too stale for its batch: not used; its prompt must be asked again. */
    STALE,
    /**
     * For a batch this learner has not published yet (an earlier process of the run did): not held,
     * since publishing the batch asks for it again.
     */
    AHEAD
  }

  /**
   * One rollout read from the topic.
   *
   * @param partition where it was read, with {@code offset}: resume must read it again while held
   */
  record Arrival<T>(
      PromptId id, int sample, long policyVersion, int partition, long offset, T rollout) {}

  private final RolloutLedger ledger;
  private final int slotsPerBatch;
  private final int responsesPerPrompt;
  private final TreeMap<Long, List<Arrival<T>>> batches = new TreeMap<>();

  BatchAssembly(RolloutLedger ledger, int promptsPerBatch, int responsesPerPrompt) {
    this.ledger = ledger;
    this.slotsPerBatch = promptsPerBatch * responsesPerPrompt;
    this.responsesPerPrompt = responsesPerPrompt;
  }

  /**
   * Files an arrival for the learner at version {@code version} (assembling batch {@code version})
   * that has published batches below {@code publishedBelow} and tolerates {@code maxLag}.
   */
  Verdict offer(Arrival<T> arrival, long version, long publishedBelow, int maxLag) {
    var id = arrival.id();
    long batch = id.batch();
    if (!ledger.fits(id, arrival.sample())) return Verdict.FOREIGN;
    if (batch < version || ledger.consumed(id, arrival.sample())) return Verdict.DUPLICATE;
    var slots = batches.get(batch);
    if (slots != null && slots.get(slot(arrival)) != null) return Verdict.DUPLICATE;
    if (batch >= publishedBelow) return Verdict.AHEAD;
    if (batch - arrival.policyVersion() > maxLag) return Verdict.STALE;
    batches.computeIfAbsent(batch, b -> emptySlots()).set(slot(arrival), arrival);
    return batch == version ? Verdict.TAKEN : Verdict.HELD;
  }

  /** Whether every slot of {@code batch} is filled (or consumed before). */
  boolean complete(long batch) {
    return missing(batch).isEmpty();
  }

  /** The prompts of {@code batch} with a response still to come, e.g. {@code r1:3:0#1}. */
  List<String> missing(long batch) {
    var slots = batches.get(batch);
    var missing = new ArrayList<String>();
    for (int s = 0; s < slotsPerBatch; s++) {
      var id = new PromptId("", batch, s / responsesPerPrompt);
      int sample = s % responsesPerPrompt;
      if ((slots == null || slots.get(s) == null) && !ledger.consumed(id, sample))
        missing.add(batch + ":" + id.index() + "#" + sample);
    }
    return missing;
  }

  /**
   * The rollouts of a complete {@code batch} in slot order (prompt, then sample, as the in-process
   * sampler lists them), marked consumed in the ledger and no longer held.
   */
  List<Arrival<T>> take(long batch) {
    if (!complete(batch)) throw new IllegalStateException("batch " + batch + " is not complete");
    var slots = batches.remove(batch);
    var taken = new ArrayList<Arrival<T>>(slotsPerBatch);
    if (slots == null) return taken;
    for (var arrival : slots) {
      if (arrival == null) continue; // consumed by an earlier checkpoint's update
      ledger.markConsumed(arrival.id(), arrival.sample());
      taken.add(arrival);
    }
    return taken;
  }

  /** Rollouts held, for batches not yet taken. */
  int held() {
    return batches.values().stream()
        .mapToInt(s -> (int) s.stream().filter(a -> a != null).count())
        .sum();
  }

  /** Per partition, the first offset of a rollout held: where a resumed learner must read from. */
  Map<Integer, Long> firstHeldOffsets() {
    var first = new TreeMap<Integer, Long>();
    for (var slots : batches.values()) {
      for (var a : slots) {
        if (a != null) first.merge(a.partition(), a.offset(), Math::min);
      }
    }
    return first;
  }

  private int slot(Arrival<T> arrival) {
    return arrival.id().index() * responsesPerPrompt + arrival.sample();
  }

  private List<Arrival<T>> emptySlots() {
    var slots = new ArrayList<Arrival<T>>(slotsPerBatch);
    for (int s = 0; s < slotsPerBatch; s++) slots.add(null);
    return slots;
  }
}
