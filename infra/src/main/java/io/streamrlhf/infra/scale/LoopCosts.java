package io.streamrlhf.infra.scale;

import com.fasterxml.jackson.databind.JsonNode;
import io.streamrlhf.schemas.Topics;

/**
 * What one streaming loop's parts cost, measured, and the loop's shape: the inputs of {@link
 * LoopSimulation}. Times in seconds.
 *
 * @param actorRolloutsPerS one actor's sampling rate on a core of its own (rollouts/s of a full
 *     batch: sampling, reference and reward scoring, producing)
 * @param actorBatchOverheadS a fixed cost per actor batch on top of rows ÷ rate (decode steps cost
 *     about the same for 4 rows as for 16 on a CPU); a batch of r rows takes overhead + r ÷ rate
 * @param learnerUpdateS one PPO update on one batch (proximal recompute, epochs, optimizer)
 * @param learnerCheckpointS writing the checkpoint after each update (the learner waits for it)
 * @param publishS the learner's share of a weight publish: encode and publish until the broker
 *     acknowledged every chunk (the learner waits for it, then publishes prompts). With broker
 *     costs (below) only the learner's own part, on its own core; the broker's ingest follows it
 * @param publishToApplyS from the start of encoding to an idle actor having loaded the version;
 *     without broker costs the version reaches every actor this − actor_load after the publish
 *     started; with them it is not used (the broker's work decides when a version arrives)
 * @param actorLoadS the actor's own share of publishToApply (load into its policy, on its core)
 * @param brokerIngestS the broker's CPU-seconds to take in one weight version (the learner's
 *     publish ends when it is done), a runnable on the actors' cores beside the sampling actors; 0
 *     with brokerServeS 0: the broker is free and publishS, publishToApplyS decide as before
 * @param brokerServeS CPU-seconds, on the actors' cores, of one copy of a version served to one
 *     actor (the broker's fetch serving and the actor's receiving, hashing and assembly, which
 *     share that core); every actor's copy starts when the ingest ends, each a runnable of its own
 * @param maxLag the learner's staleness bound
 * @param promptsPerBatch prompts of one learner batch
 * @param responsesPerPrompt K rollouts per prompt
 * @param maxPromptsPerActorBatch an actor samples at most this many queued prompts at once
 * @param promptPartitions partitions of {@code rlhf.prompts}: at most this many actors get prompts
 * @param actorCores cores the actors share; 0: every actor on a core of its own
 * @param updates updates simulated
 */
public record LoopCosts(
    double actorRolloutsPerS,
    double actorBatchOverheadS,
    double learnerUpdateS,
    double learnerCheckpointS,
    double publishS,
    double publishToApplyS,
    double actorLoadS,
    double brokerIngestS,
    double brokerServeS,
    int maxLag,
    int promptsPerBatch,
    int responsesPerPrompt,
    int maxPromptsPerActorBatch,
    int promptPartitions,
    int actorCores,
    int updates) {

  public LoopCosts {
    positive("actor_rollouts_per_s", actorRolloutsPerS);
    positive("learner_update_s", learnerUpdateS);
    atLeastZero("actor_batch_overhead_s", actorBatchOverheadS);
    atLeastZero("learner_checkpoint_s", learnerCheckpointS);
    atLeastZero("publish_s", publishS);
    atLeastZero("actor_load_s", actorLoadS);
    atLeastZero("broker_ingest_s", brokerIngestS);
    atLeastZero("broker_serve_s", brokerServeS);
    atLeastZero("publish_to_apply_s", publishToApplyS);
    if (publishToApplyS < actorLoadS)
      throw new IllegalArgumentException(
          "publish_to_apply_s ("
              + publishToApplyS
              + ") must include actor_load_s ("
              + actorLoadS
              + ")");
    if (maxLag < 0) throw new IllegalArgumentException("max_lag must be >= 0, got " + maxLag);
    if (promptsPerBatch < 1 || responsesPerPrompt < 1 || maxPromptsPerActorBatch < 1)
      throw new IllegalArgumentException(
          "prompts_per_batch, responses_per_prompt and max_prompts_per_actor_batch must be >= 1");
    if (promptPartitions < 1)
      throw new IllegalArgumentException("prompt_partitions must be >= 1, got " + promptPartitions);
    if (actorCores < 0)
      throw new IllegalArgumentException("actor_cores must be >= 0, got " + actorCores);
    // the steady state is measured after the first update, so there must be one after it
    if (updates < 2) throw new IllegalArgumentException("updates must be >= 2, got " + updates);
  }

  /**
   * bench-small as measured by {@code rlhf bench --compare-peer} on the idle machine
   * (EXPERIMENTS.md, 2026-11-30): PPO step 160.4 ms, 42.7 rollouts/s through Kafka,
   * publish-to-apply 153 ms (encode 15.4, publish until acked 99.5, actor load 3.6), bench's batch
   * of 8 prompts × K 2 (an actor samples at most prompts_per_batch prompts at once, as {@code
   * LocalLoop.settings} sets it), max_lag 4, the loop's 4 prompt partitions, one core per actor.
   * The broker is free (bench does not measure its CPU apart from the publish it slows).
   */
  public static LoopCosts benchSmall() {
    return new LoopCosts(
        42.7,
        0,
        0.1604,
        0,
        0.0154 + 0.0995,
        0.153,
        0.0036,
        0,
        0,
        4,
        8,
        2,
        8,
        Topics.PROMPT_PARTITIONS,
        0,
        200);
  }

  /**
   * These costs with the figures a {@code rlhf bench} JSON output holds ({@code
   * stream_rollouts_per_s}, {@code ppo_step_ms}, {@code weights_publish_to_apply_ms}, {@code
   * weights_phases_ms}, {@code stream_setup}); keys it lacks keep their value here.
   */
  public LoopCosts withBench(JsonNode bench) {
    var phases = bench.path("weights_phases_ms");
    var setup = bench.path("stream_setup");
    double publish =
        phases.has("encode") && phases.has("publish_until_acked")
            ? (phases.get("encode").asDouble() + phases.get("publish_until_acked").asDouble())
                / 1000
            : publishS;
    return new LoopCosts(
        number(bench, "stream_rollouts_per_s", actorRolloutsPerS),
        actorBatchOverheadS,
        number(bench, "ppo_step_ms", learnerUpdateS * 1000) / 1000,
        learnerCheckpointS,
        publish,
        number(bench, "weights_publish_to_apply_ms", publishToApplyS * 1000) / 1000,
        number(phases, "actor_load", actorLoadS * 1000) / 1000,
        brokerIngestS,
        brokerServeS,
        maxLag,
        (int) number(setup, "prompts_per_batch", promptsPerBatch),
        (int) number(setup, "responses_per_prompt", responsesPerPrompt),
        maxPromptsPerActorBatch,
        promptPartitions,
        actorCores,
        updates);
  }

  /** Whether the broker's work is a cost of its own (else it is free). */
  public boolean brokerModeled() {
    return brokerIngestS > 0 || brokerServeS > 0;
  }

  /** These costs with the broker's: ingest per version, serving per copy (CPU-seconds). */
  public LoopCosts withBroker(double ingestS, double serveS) {
    return edit(
        c -> {
          c.brokerIngestS = ingestS;
          c.brokerServeS = serveS;
        });
  }

  /** These costs with one actor's: {@code rolloutsPerS} and a fixed {@code overheadS} a batch. */
  public LoopCosts withActor(double rolloutsPerS, double overheadS) {
    return edit(
        c -> {
          c.actorRolloutsPerS = rolloutsPerS;
          c.actorBatchOverheadS = overheadS;
        });
  }

  /** Rollouts of one learner batch. */
  public int rolloutsPerBatch() {
    return promptsPerBatch * responsesPerPrompt;
  }

  /**
   * The learner's time per update, without waiting: update, checkpoint, publish (with the broker's
   * ingest, at least as long as it takes on a core of its own).
   */
  public double learnerBusyS() {
    return learnerUpdateS + learnerCheckpointS + publishS + brokerIngestS;
  }

  /** One actor's time for a batch of {@code rows} rollouts, on a core of its own. */
  public double actorBatchS(int rows) {
    return actorBatchOverheadS + rows / actorRolloutsPerS;
  }

  public LoopCosts withMaxLag(int lag) {
    return edit(c -> c.maxLag = lag);
  }

  public LoopCosts withPromptPartitions(int partitions) {
    return edit(c -> c.promptPartitions = partitions);
  }

  public LoopCosts withActorCores(int cores) {
    return edit(c -> c.actorCores = cores);
  }

  public LoopCosts withUpdates(int n) {
    return edit(c -> c.updates = n);
  }

  /** These costs with some changed: {@code change} sets them on a copy, which is checked anew. */
  private LoopCosts edit(java.util.function.Consumer<Editable> change) {
    var c = new Editable(this);
    change.accept(c);
    return c.build();
  }

  /** The fields of a {@link LoopCosts}, settable one by one (for the {@code with…} methods). */
  private static final class Editable {
    double actorRolloutsPerS;
    double actorBatchOverheadS;
    double learnerUpdateS;
    double learnerCheckpointS;
    double publishS;
    double publishToApplyS;
    double actorLoadS;
    double brokerIngestS;
    double brokerServeS;
    int maxLag;
    int promptsPerBatch;
    int responsesPerPrompt;
    int maxPromptsPerActorBatch;
    int promptPartitions;
    int actorCores;
    int updates;

    Editable(LoopCosts c) {
      actorRolloutsPerS = c.actorRolloutsPerS;
      actorBatchOverheadS = c.actorBatchOverheadS;
      learnerUpdateS = c.learnerUpdateS;
      learnerCheckpointS = c.learnerCheckpointS;
      publishS = c.publishS;
      publishToApplyS = c.publishToApplyS;
      actorLoadS = c.actorLoadS;
      brokerIngestS = c.brokerIngestS;
      brokerServeS = c.brokerServeS;
      maxLag = c.maxLag;
      promptsPerBatch = c.promptsPerBatch;
      responsesPerPrompt = c.responsesPerPrompt;
      maxPromptsPerActorBatch = c.maxPromptsPerActorBatch;
      promptPartitions = c.promptPartitions;
      actorCores = c.actorCores;
      updates = c.updates;
    }

    LoopCosts build() {
      return new LoopCosts(
          actorRolloutsPerS,
          actorBatchOverheadS,
          learnerUpdateS,
          learnerCheckpointS,
          publishS,
          publishToApplyS,
          actorLoadS,
          brokerIngestS,
          brokerServeS,
          maxLag,
          promptsPerBatch,
          responsesPerPrompt,
          maxPromptsPerActorBatch,
          promptPartitions,
          actorCores,
          updates);
    }
  }

  private static double number(JsonNode node, String key, double otherwise) {
    var value = node.get(key);
    return value != null && value.isNumber() ? value.asDouble() : otherwise;
  }

  // finite too: an infinite cost stalls the simulated loop, an infinite rate has no meaning
  private static void positive(String name, double value) {
    if (!(value > 0) || Double.isInfinite(value))
      throw new IllegalArgumentException(name + " must be finite and > 0, got " + value);
  }

  private static void atLeastZero(String name, double value) {
    if (!(value >= 0) || Double.isInfinite(value))
      throw new IllegalArgumentException(name + " must be finite and >= 0, got " + value);
  }
}
