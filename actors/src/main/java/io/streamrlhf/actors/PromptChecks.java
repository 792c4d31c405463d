package io.streamrlhf.actors;

import io.streamrlhf.model.ByteTokenizer;
import io.streamrlhf.schemas.Prompt;
import io.streamrlhf.schemas.RecordCheck;
import io.streamrlhf.schemas.RecordChecks;
import java.util.Optional;

/**
 * What a rollout actor requires of a prompt before it queues it: {@link RecordChecks#PROMPT} and
 * room in the model's context for the prompt and the response it samples. A prompt too long would
 * fail its whole sampling batch, and the actor with it; uncommitted, the prompt would then go to
 * the next actor of the group and fail that one too. Dead-lettered at decode time, it fails none.
 */
final class PromptChecks {
  private PromptChecks() {}

  /**
   * @param contextLength the models' context (policy, reference and reward model share the SFT
   *     model's shape)
   * @param maxNewTokens the response tokens sampled after the prompt
   */
  static RecordCheck<Prompt> fitting(int contextLength, int maxNewTokens) {
    RecordCheck<Prompt> fits =
        p -> {
          int tokens = ByteTokenizer.encode(p.getText()).length;
          return tokens + maxNewTokens <= contextLength
              ? Optional.empty()
              : Optional.of(
                  tokens
                      + " prompt tokens + "
                      + maxNewTokens
                      + " new tokens exceed the model's context of "
                      + contextLength);
        };
    return RecordChecks.PROMPT.and(fits);
  }
}
