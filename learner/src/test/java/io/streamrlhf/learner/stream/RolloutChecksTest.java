package io.streamrlhf.learner.stream;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamrlhf.model.ByteTokenizer;
import io.streamrlhf.model.GptConfig;
import io.streamrlhf.schemas.Rollout;
import java.time.Instant;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

class RolloutChecksTest {
  private static final GptConfig MODEL = new GptConfig(ByteTokenizer.VOCAB_SIZE, 16, 8, 1, 2);

  private static Rollout rollout(List<Integer> prompt, List<Integer> response) {
    var logProbs = Collections.nCopies(response.size(), -1f);
    return Rollout.newBuilder()
        .setRolloutId("p#0")
        .setPromptId("p")
        .setPromptTokens(prompt)
        .setResponseTokens(response)
        .setBehaviourLogProbs(logProbs)
        .setRefLogProbs(logProbs)
        .setRmScore(0.5f)
        .setPolicyVersion(0)
        .setActorId("actor")
        .setTerminated(true)
        .setStartedAt(Instant.EPOCH)
        .setProducedAt(Instant.EPOCH)
        .build();
  }

  @Test
  void aRolloutTheModelCanScorePasses() {
    var check = RolloutChecks.forModel(MODEL);

    assertThat(check.problem(rollout(List.of(65, 66), List.of(97, ByteTokenizer.EOS)))).isEmpty();
    // exactly the context: 16 tokens
    assertThat(check.problem(rollout(Collections.nCopies(10, 65), Collections.nCopies(6, 97))))
        .isEmpty();
  }

  @Test
  void aTokenOutsideWhatTheModelEmitsIsRefused() {
    var check = RolloutChecks.forModel(MODEL);

    assertThat(check.problem(rollout(List.of(65), List.of(97, ByteTokenizer.VOCAB_SIZE))))
        .hasValue("response token 260 at 1 is not one the model emits (0..256)");
    assertThat(check.problem(rollout(List.of(65), List.of(ByteTokenizer.PAD))))
        .hasValue("response token 257 at 0 is not one the model emits (0..256)");
    assertThat(check.problem(rollout(List.of(65, 1_000_000), List.of(97))))
        .hasValue("prompt token 1000000 at 1 is not one the model emits (0..256)");
  }

  @Test
  void aRolloutLongerThanTheContextIsRefused() {
    var check = RolloutChecks.forModel(MODEL);

    assertThat(check.problem(rollout(Collections.nCopies(10, 65), Collections.nCopies(7, 97))))
        .hasValue("17 prompt and response tokens exceed the model's context of 16");
  }

  @Test
  void theRecordsOwnContractIsCheckedFirst() {
    var check = RolloutChecks.forModel(MODEL);

    assertThat(check.problem(rollout(List.of(65), List.of()))).hasValue("empty response");
  }
}
