package io.streamrlhf.infra.kafka;

import io.streamrlhf.schemas.Topics;
import io.streamrlhf.schemas.transport.KafkaClientConfigs;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import org.apache.kafka.common.acl.AccessControlEntry;
import org.apache.kafka.common.acl.AclBinding;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePattern;
import org.apache.kafka.common.resource.ResourceType;

/**
 * What each kind of process of the loop may do on a cluster with ACLs: the topics it reads and
 * writes (DESIGN.md, "The loop"). Every role may also describe the loop's topics (each process
 * checks they exist at start), use consumer groups named {@code rlhf-*}, and write dead letters;
 * only the learner may use the learner's transactional id, and only the reward trainer the reward
 * trainer's, whose use fences the one at work. {@link #ADMIN} is a super user: the broker itself,
 * and whoever provisions topics and grants these ACLs.
 *
 * <p>The point of the split: only the learner can write {@code rlhf.policy-weights} and only the
 * reward trainer {@code rlhf.reward-weights}; an actor's credentials, if stolen, cannot install a
 * policy. Signed weight versions guard the same topics against a writer with stolen learner
 * credentials.
 */
public enum LoopRole {
  ADMIN(List.of(), List.of(), null),
  // the learner reads its own prompts on a resume, to check no other run uses the cluster, and
  // its weight topic at start, to check a new run's is empty
  LEARNER(
      List.of(Topics.ROLLOUTS, Topics.PROMPTS, Topics.POLICY_WEIGHTS),
      List.of(Topics.PROMPTS, Topics.POLICY_WEIGHTS),
      KafkaClientConfigs.LEARNER_TRANSACTIONAL_ID),
  ACTOR(
      List.of(Topics.PROMPTS, Topics.POLICY_WEIGHTS, Topics.REWARD_WEIGHTS),
      List.of(Topics.ROLLOUTS, Topics.LABEL_REQUESTS),
      null),
  // the reward trainer reads its weight topic at start: a new run's must be empty, a resumed
  // run's newest version its own
  REWARD_TRAINER(
      List.of(Topics.COMPARISONS, Topics.REWARD_WEIGHTS),
      List.of(Topics.REWARD_WEIGHTS),
      KafkaClientConfigs.REWARD_TRAINER_TRANSACTIONAL_ID),
  LABELER(List.of(Topics.LABEL_REQUESTS), List.of(Topics.COMPARISONS), null),
  GATEWAY(List.of(Topics.LABEL_REQUESTS, Topics.COMPARISONS), List.of(Topics.COMPARISONS), null);

  /** Names of the loop's topics and consumer groups start with these. */
  static final String TOPIC_PREFIX = "rlhf.";

  static final String GROUP_PREFIX = "rlhf-";

  private final List<String> reads;
  private final List<String> writes;
  private final String transactionalId;

  /**
   * @param transactionalId the one every process of the role uses ({@code
   *     learner.stream.TransactionalProducer}), or null for a role that does not publish in
   *     transactions
   */
  LoopRole(List<String> reads, List<String> writes, String transactionalId) {
    this.reads = reads;
    this.writes = writes;
    this.transactionalId = transactionalId;
  }

  /** The role's name in a users file: {@code reward-trainer} for {@link #REWARD_TRAINER}. */
  public String spelling() {
    return name().toLowerCase(Locale.ROOT).replace('_', '-');
  }

  public static Optional<LoopRole> bySpelling(String spelling) {
    return Arrays.stream(values()).filter(r -> r.spelling().equals(spelling)).findFirst();
  }

  public List<String> reads() {
    return reads;
  }

  public List<String> writes() {
    return writes;
  }

  /** The ACLs {@code user} needs in this role (none for the super user). */
  public List<AclBinding> acls(String user) {
    if (this == ADMIN) return List.of();
    var principal = "User:" + user;
    var acls = new ArrayList<AclBinding>();
    acls.add(
        allow(
            principal,
            ResourceType.TOPIC,
            TOPIC_PREFIX,
            PatternType.PREFIXED,
            AclOperation.DESCRIBE));
    acls.add(
        allow(
            principal, ResourceType.GROUP, GROUP_PREFIX, PatternType.PREFIXED, AclOperation.READ));
    if (transactionalId != null) {
      // one id for the cluster: another role's credentials must not be able to fence this one
      for (var operation : List.of(AclOperation.WRITE, AclOperation.DESCRIBE))
        acls.add(
            allow(
                principal,
                ResourceType.TRANSACTIONAL_ID,
                transactionalId,
                PatternType.LITERAL,
                operation));
    }
    acls.add(
        allow(
            principal,
            ResourceType.TOPIC,
            Topics.DEAD_LETTER,
            PatternType.LITERAL,
            AclOperation.WRITE));
    for (var topic : reads) {
      acls.add(allow(principal, ResourceType.TOPIC, topic, PatternType.LITERAL, AclOperation.READ));
    }
    for (var topic : writes) {
      acls.add(
          allow(principal, ResourceType.TOPIC, topic, PatternType.LITERAL, AclOperation.WRITE));
    }
    return acls;
  }

  private static AclBinding allow(
      String principal,
      ResourceType type,
      String name,
      PatternType pattern,
      AclOperation operation) {
    return new AclBinding(
        new ResourcePattern(type, name, pattern),
        new AccessControlEntry(principal, "*", operation, AclPermissionType.ALLOW));
  }
}
