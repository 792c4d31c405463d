package io.streamrlhf.infra.bench;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamrlhf.model.ByteTokenizer;
import io.streamrlhf.schemas.Prompt;
import java.util.HashSet;
import org.junit.jupiter.api.Test;

class StreamBenchTest {
  private static final StreamBench.Workload W = StreamBench.Workload.bench(3);

  @Test
  void theStreamAndInProcessRoundsOfAPairGetTheSamePromptsUnderTheirOwnIds() {
    var stream = StreamBench.prompts(W, 1, 4);
    var inproc = StreamBench.prompts(W, 1, 5);
    assertThat(stream).hasSize(W.promptsPerBatch() * W.batches());
    assertThat(W.rollouts()).isEqualTo(stream.size() * W.responsesPerPrompt());
    assertThat(stream)
        .extracting(Prompt::getText)
        .isEqualTo(inproc.stream().map(Prompt::getText).toList());
    assertThat(stream)
        .extracting(Prompt::getSamplingSeed)
        .isEqualTo(inproc.stream().map(Prompt::getSamplingSeed).toList());
    assertThat(stream).allSatisfy(p -> assertThat(p.getPromptId()).startsWith("r4-"));
    assertThat(new HashSet<>(stream.stream().map(Prompt::getPromptId).toList()))
        .hasSize(stream.size());
  }

  @Test
  void promptsHaveTheWorkloadsLengthAndDifferAcrossPairs() {
    var a = StreamBench.prompts(W, 0, 0);
    var b = StreamBench.prompts(W, 1, 1);
    assertThat(a)
        .allSatisfy(
            p ->
                assertThat(ByteTokenizer.encode(p.getText()))
                    .hasSizeGreaterThanOrEqualTo(W.promptTokens()));
    assertThat(a.get(0).getText()).isNotEqualTo(b.get(0).getText());
    assertThat(a).extracting(Prompt::getMinPolicyVersion).containsOnly(0L);
  }
}
