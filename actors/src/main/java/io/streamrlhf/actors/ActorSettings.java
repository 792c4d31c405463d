package io.streamrlhf.actors;

import java.time.Duration;

/**
 * How one rollout actor runs.
 *
 * @param actorId stamped on every rollout; also the Kafka client id
 * @param bootstrapServers the Kafka cluster
 * @param groupId the prompt consumer group all actors of a run share
 * @param responsesPerPrompt K responses sampled per prompt (the learner's responses_per_prompt)
 * @param maxNewTokens response length limit
 * @param temperature sampling temperature (the learner's sampling_temperature)
 * @param maxPromptsPerBatch at most this many prompts are sampled in one batched generation
 * @param versionWait how long the actor waits for the policy version a prompt asks for before it
 *     gives up with an error (it logs while waiting)
 * @param kafkaTimeout every single wait on the broker (produce acks, commits)
 */
public record ActorSettings(
    String actorId,
    String bootstrapServers,
    String groupId,
    int responsesPerPrompt,
    int maxNewTokens,
    double temperature,
    int maxPromptsPerBatch,
    Duration versionWait,
    Duration kafkaTimeout) {
  /** The consumer group of the loop's actors. */
  public static final String DEFAULT_GROUP = "rlhf-actors";

  public ActorSettings {
    if (actorId == null || actorId.isBlank())
      throw new IllegalArgumentException("an actor needs an id");
    if (responsesPerPrompt < 1)
      throw new IllegalArgumentException("responses per prompt must be >= 1");
    if (maxPromptsPerBatch < 1)
      throw new IllegalArgumentException("max prompts per batch must be >= 1");
    if (!(temperature > 0)) throw new IllegalArgumentException("temperature must be > 0");
  }

  public static ActorSettings of(
      String actorId,
      String bootstrapServers,
      int responsesPerPrompt,
      int maxNewTokens,
      double temperature) {
    return new ActorSettings(
        actorId,
        bootstrapServers,
        DEFAULT_GROUP,
        responsesPerPrompt,
        maxNewTokens,
        temperature,
        32,
        Duration.ofMinutes(10),
        Duration.ofSeconds(30));
  }

  public ActorSettings withVersionWait(Duration wait) {
    return new ActorSettings(
        actorId,
        bootstrapServers,
        groupId,
        responsesPerPrompt,
        maxNewTokens,
        temperature,
        maxPromptsPerBatch,
        wait,
        kafkaTimeout);
  }

  public ActorSettings withMaxPromptsPerBatch(int n) {
    return new ActorSettings(
        actorId,
        bootstrapServers,
        groupId,
        responsesPerPrompt,
        maxNewTokens,
        temperature,
        n,
        versionWait,
        kafkaTimeout);
  }
}
