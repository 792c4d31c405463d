package io.streamrlhf.actors;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamrlhf.schemas.Prompt;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

class PromptQueueTest {
  private static final TopicPartition P0 = new TopicPartition("rlhf.prompts", 0);

  private static Prompt prompt(String id, long minVersion) {
    return Prompt.newBuilder()
        .setPromptId(id)
        .setText("x\n")
        .setMinPolicyVersion(minVersion)
        .build();
  }

  @Test
  void eligibleOnlyWithAPolicyAtLeastAsNewAsSomeQueuedPromptAsks() {
    var queue = new PromptQueue();
    assertThat(queue.hasEligible(5)).as("empty").isFalse();
    queue.add(prompt("a", 2), P0, 0);
    queue.add(prompt("b", 3), P0, 1);
    assertThat(queue.hasEligible(-1)).as("no policy yet").isFalse();
    assertThat(queue.hasEligible(1)).isFalse();
    assertThat(queue.hasEligible(2)).isTrue();
    assertThat(queue.takeEligible(2, 8))
        .extracting(q -> q.prompt().getPromptId())
        .containsExactly("a");
    assertThat(queue.hasEligible(2)).as("b needs v3").isFalse();
    assertThat(queue.hasEligible(3)).isTrue();
  }
}
