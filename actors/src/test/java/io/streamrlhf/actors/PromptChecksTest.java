package io.streamrlhf.actors;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamrlhf.schemas.Prompt;
import org.junit.jupiter.api.Test;

/** A prompt fits when its tokens and the response's fill the context at most, and only then. */
class PromptChecksTest {
  private static Prompt prompt(String text) {
    return Prompt.newBuilder().setPromptId("b0:p0").setText(text).setMinPolicyVersion(0).build();
  }

  @Test
  void aPromptThatFillsTheContextExactlyFitsAndOneTokenMoreDoesNot() {
    // one byte a token: 6 prompt tokens + 4 new ones are the context of 10; 7 + 4 are not
    var check = PromptChecks.fitting(10, 4);
    assertThat(check.problem(prompt("123456"))).isEmpty();
    assertThat(check.problem(prompt("1234567")))
        .hasValue("7 prompt tokens + 4 new tokens exceed the model's context of 10");
    assertThat(check.problem(prompt(""))).as("the record check first").hasValue("empty text");
  }
}
