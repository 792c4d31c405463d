package io.streamrlhf.infra.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamrlhf.schemas.Topics;
import java.util.Arrays;
import java.util.Map;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourceType;
import org.junit.jupiter.api.Test;

class LoopRoleTest {

  @Test
  void onlyTheLearnerWritesPoliciesAndOnlyTheRewardTrainerRewardModels() {
    var policyWriters =
        Arrays.stream(LoopRole.values()).filter(r -> r.writes().contains(Topics.POLICY_WEIGHTS));
    var rewardWriters =
        Arrays.stream(LoopRole.values()).filter(r -> r.writes().contains(Topics.REWARD_WEIGHTS));

    assertThat(policyWriters).containsExactly(LoopRole.LEARNER);
    assertThat(rewardWriters).containsExactly(LoopRole.REWARD_TRAINER);
    assertThat(LoopRole.ACTOR.acls("a"))
        .noneMatch(
            b ->
                b.pattern().resourceType() == ResourceType.TOPIC
                    && b.pattern().name().endsWith("-weights")
                    && b.entry().operation() == AclOperation.WRITE);
    assertThat(LoopRole.ADMIN.acls("root")).isEmpty(); // a super user
    // the learner's and the reward trainer's transactional ids are one each for the cluster:
    // using one fences the process at work, so no other role may
    for (var role : LoopRole.values()) {
      var transactional =
          role.acls("u").stream()
              .filter(b -> b.pattern().resourceType() == ResourceType.TRANSACTIONAL_ID)
              .toList();
      var id =
          switch (role) {
            case LEARNER -> "rlhf-learner";
            case REWARD_TRAINER -> "rlhf-reward-trainer";
            default -> null;
          };
      if (id != null)
        assertThat(transactional)
            .as(role.name())
            .isNotEmpty()
            .allMatch(b -> b.pattern().name().equals(id))
            .allMatch(b -> b.pattern().patternType() == PatternType.LITERAL);
      else assertThat(transactional).as(role.name()).isEmpty();
    }
    assertThat(LoopRole.bySpelling("reward-trainer")).contains(LoopRole.REWARD_TRAINER);
  }

  @Test
  void usersWhosePasswordWouldBreakTheJaasEntryOrWhoseNameIsOddAreRefused() {
    var root = new BrokerUsers.User("root", LoopRole.ADMIN, "pw");

    assertThatThrownBy(
            () ->
                new BrokerUsers(
                    Map.of(
                        "root",
                        root,
                        "eve",
                        new BrokerUsers.User("eve", LoopRole.ACTOR, "a\" user_x=\"y"))))
        .hasMessageStartingWith("user 'eve': the password must be non-empty, without \"");
    assertThatThrownBy(
            () ->
                new BrokerUsers(
                    Map.of("root", root, "a b", new BrokerUsers.User("a b", LoopRole.ACTOR, "pw"))))
        .hasMessageStartingWith("user 'a b': names are 1 to 64 of");
    assertThat(new BrokerUsers(Map.of("root", root)).toString()).doesNotContain("pw");
  }
}
