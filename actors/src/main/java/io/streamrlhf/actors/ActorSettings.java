package io.streamrlhf.actors;

import io.streamrlhf.schemas.WeightStore;
import io.streamrlhf.schemas.signing.TrustedWeightKeys;
import io.streamrlhf.schemas.transport.KafkaAccess;
import java.time.Duration;
import java.util.Objects;

/**
 * How one rollout actor runs.
 *
 * @param actorId stamped on every rollout; also the Kafka client id
 * @param kafka the Kafka cluster and how to authenticate to it
 * @param groupId the prompt consumer group all actors of a run share
 * @param responsesPerPrompt K responses sampled per prompt (the learner's responses_per_prompt)
 * @param maxNewTokens response length limit
 * @param temperature sampling temperature (the learner's sampling_temperature)
 * @param maxPromptsPerBatch at most this many prompts are sampled in one batched generation
 * @param versionWait how long the actor waits for the policy version a prompt asks for (or, with a
 *     live reward, for the first reward-model version) before it gives up with an error (it logs
 *     while waiting)
 * @param kafkaTimeout every single wait on the broker (produce acks, commits)
 * @param labelRequestShare the share of prompts the actor also asks people (or simulated labelers)
 *     to rank, as {@code LabelRequest}s on {@code rlhf.label-requests}; 0 asks none. Which prompts
 *     is a function of the prompt id ({@link LabelRequests#asks}), so a prompt answered twice asks
 *     once
 * @param labelResponses K_label answers in each label request: the prompt's first K_label samples,
 *     drawn beyond the rollouts' K when K_label is larger
 * @param weightKeys whose signatures the actor requires on the policy and reward versions it
 *     applies; a model without a key is applied unchecked (and the actor says so once)
 * @param swap when a new policy version takes effect: between batches, or in flight between decode
 *     steps of a batch ({@link WeightSwap})
 * @param weightStore where policy versions published as pointers are read from (a directory shared
 *     with the learner); null: the actor takes only versions whose bytes are on the topic
 * @param intraOpThreads PyTorch threads the actor's sampling may use; 0 leaves the process default
 *     (every core). An actor that shares its cores with the learner's process takes one.
 * @param quietLog how long a weight subscriber goes without a new version before it says so (the
 *     publisher may be slow, or gone); the reward-model subscriber of an actor that holds an
 *     offline reward model says nothing until a reward trainer's first version arrives, since none
 *     may ever run
 * @param logEveryVersions the actor says "policy vN applied" for every N-th version only (a loop's
 *     own actors follow its log_every_updates); every apply still raises {@link
 *     ActorEvents#APPLIED}
 */
public record ActorSettings(
    String actorId,
    KafkaAccess kafka,
    String groupId,
    int responsesPerPrompt,
    int maxNewTokens,
    double temperature,
    int maxPromptsPerBatch,
    Duration versionWait,
    Duration kafkaTimeout,
    double labelRequestShare,
    int labelResponses,
    TrustedWeightKeys weightKeys,
    WeightSwap swap,
    WeightStore weightStore,
    int intraOpThreads,
    Duration quietLog,
    int logEveryVersions) {
  /** The consumer group of the loop's actors. */
  public static final String DEFAULT_GROUP = "rlhf-actors";

  /** Label requests are off unless asked for. */
  public static final double DEFAULT_LABEL_REQUEST_SHARE = 0;

  /** InstructGPT's labelers ranked K = 4 to 9 answers per prompt; 4 is quick to rank by hand. */
  public static final int DEFAULT_LABEL_RESPONSES = 4;

  /** A weight topic silent this long is worth a line. */
  public static final Duration DEFAULT_QUIET_LOG = Duration.ofSeconds(30);

  public ActorSettings {
    if (actorId == null || actorId.isBlank())
      throw new IllegalArgumentException("an actor needs an id");
    Objects.requireNonNull(kafka, "kafka");
    Objects.requireNonNull(weightKeys, "weightKeys");
    Objects.requireNonNull(swap, "swap");
    if (responsesPerPrompt < 1)
      throw new IllegalArgumentException("responses per prompt must be >= 1");
    if (maxPromptsPerBatch < 1)
      throw new IllegalArgumentException("max prompts per batch must be >= 1");
    if (!(temperature > 0)) throw new IllegalArgumentException("temperature must be > 0");
    if (!(labelRequestShare >= 0 && labelRequestShare <= 1))
      throw new IllegalArgumentException(
          "the label request share must be in [0, 1], got " + labelRequestShare);
    if (labelResponses < 2)
      throw new IllegalArgumentException(
          "a label request needs at least 2 responses to rank, got " + labelResponses);
    if (intraOpThreads < 0)
      throw new IllegalArgumentException(
          "intra-op threads must be >= 0 (0: the process default), got " + intraOpThreads);
    if (quietLog == null || quietLog.isNegative() || quietLog.isZero())
      throw new IllegalArgumentException("the quiet log period must be positive, got " + quietLog);
    if (logEveryVersions < 1)
      throw new IllegalArgumentException(
          "log every versions must be >= 1, got " + logEveryVersions);
  }

  /** An actor of a plaintext cluster that applies weights unchecked. */
  public static ActorSettings of(
      String actorId,
      String bootstrapServers,
      int responsesPerPrompt,
      int maxNewTokens,
      double temperature) {
    return of(
        actorId,
        KafkaAccess.plaintext(bootstrapServers),
        responsesPerPrompt,
        maxNewTokens,
        temperature);
  }

  /** An actor that applies weights unchecked until {@link #withWeightKeys} names the keys. */
  public static ActorSettings of(
      String actorId,
      KafkaAccess kafka,
      int responsesPerPrompt,
      int maxNewTokens,
      double temperature) {
    return new ActorSettings(
        actorId,
        kafka,
        DEFAULT_GROUP,
        responsesPerPrompt,
        maxNewTokens,
        temperature,
        32,
        Duration.ofMinutes(10),
        Duration.ofSeconds(30),
        DEFAULT_LABEL_REQUEST_SHARE,
        DEFAULT_LABEL_RESPONSES,
        TrustedWeightKeys.none(),
        WeightSwap.DEFAULT,
        null,
        0,
        DEFAULT_QUIET_LOG,
        1);
  }

  public ActorSettings withVersionWait(Duration wait) {
    return edit(c -> c.versionWait = wait);
  }

  public ActorSettings withMaxPromptsPerBatch(int n) {
    return edit(c -> c.maxPromptsPerBatch = n);
  }

  /** Asks {@code share} of the prompts to be ranked, with {@code responses} answers each. */
  public ActorSettings withLabelRequests(double share, int responses) {
    return edit(
        c -> {
          c.labelRequestShare = share;
          c.labelResponses = responses;
        });
  }

  /** Requires these keys' signatures on the versions the actor applies. */
  public ActorSettings withWeightKeys(TrustedWeightKeys keys) {
    return edit(c -> c.weightKeys = keys);
  }

  /** Applies new policy versions as {@code swap} says. */
  public ActorSettings withSwap(WeightSwap swap) {
    return edit(c -> c.swap = swap);
  }

  public ActorSettings withWeightStore(WeightStore store) {
    return edit(c -> c.weightStore = store);
  }

  /** Samples with {@code threads} PyTorch threads (0: the process default). */
  public ActorSettings withIntraOpThreads(int threads) {
    return edit(c -> c.intraOpThreads = threads);
  }

  public ActorSettings withQuietLog(Duration period) {
    return edit(c -> c.quietLog = period);
  }

  public ActorSettings withLogEveryVersions(int n) {
    return edit(c -> c.logEveryVersions = n);
  }

  /**
   * These settings with some changed: {@code change} sets them on a copy, which is checked anew.
   */
  private ActorSettings edit(java.util.function.Consumer<Editable> change) {
    var c = new Editable(this);
    change.accept(c);
    return c.build();
  }

  /** The fields of {@link ActorSettings}, settable one by one (for the {@code with…} methods). */
  private static final class Editable {
    String actorId;
    KafkaAccess kafka;
    String groupId;
    int responsesPerPrompt;
    int maxNewTokens;
    double temperature;
    int maxPromptsPerBatch;
    Duration versionWait;
    Duration kafkaTimeout;
    double labelRequestShare;
    int labelResponses;
    TrustedWeightKeys weightKeys;
    WeightSwap swap;
    WeightStore weightStore;
    int intraOpThreads;
    Duration quietLog;
    int logEveryVersions;

    Editable(ActorSettings s) {
      actorId = s.actorId;
      kafka = s.kafka;
      groupId = s.groupId;
      responsesPerPrompt = s.responsesPerPrompt;
      maxNewTokens = s.maxNewTokens;
      temperature = s.temperature;
      maxPromptsPerBatch = s.maxPromptsPerBatch;
      versionWait = s.versionWait;
      kafkaTimeout = s.kafkaTimeout;
      labelRequestShare = s.labelRequestShare;
      labelResponses = s.labelResponses;
      weightKeys = s.weightKeys;
      swap = s.swap;
      weightStore = s.weightStore;
      intraOpThreads = s.intraOpThreads;
      quietLog = s.quietLog;
      logEveryVersions = s.logEveryVersions;
    }

    ActorSettings build() {
      return new ActorSettings(
          actorId,
          kafka,
          groupId,
          responsesPerPrompt,
          maxNewTokens,
          temperature,
          maxPromptsPerBatch,
          versionWait,
          kafkaTimeout,
          labelRequestShare,
          labelResponses,
          weightKeys,
          swap,
          weightStore,
          intraOpThreads,
          quietLog,
          logEveryVersions);
    }
  }
}
