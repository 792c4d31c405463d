package io.streamrlhf.learner.stream;

import io.streamrlhf.model.ByteTokenizer;
import io.streamrlhf.model.GptConfig;
import io.streamrlhf.schemas.RecordCheck;
import io.streamrlhf.schemas.RecordChecks;
import io.streamrlhf.schemas.Rollout;
import java.util.List;
import java.util.Optional;

/**
 * What the learner requires of a rollout before it may enter an update: {@link
 * RecordChecks#ROLLOUT} (lengths that agree, finite log-probs, ...) and what only the learner's
 * model knows. A token the model has no embedding for fails the forward pass, a token it never
 * emits (PAD, the reserved ids) has a log-prob of about −10⁴ that swamps the KL penalty, and a
 * prompt plus response longer than the context has no position embedding. Any of them, taken into a
 * batch, would end the update in an exception on every restart from the same offsets.
 */
final class RolloutChecks {
  private RolloutChecks() {}

  static RecordCheck<Rollout> forModel(GptConfig model) {
    // bytes and EOS: what the model's output distribution can put mass on
    int tokens = Math.min(model.vocabSize(), ByteTokenizer.PAD);
    int context = model.contextLength();
    RecordCheck<Rollout> fits =
        r -> {
          var outside =
              firstOutside("prompt", r.getPromptTokens(), tokens)
                  .or(() -> firstOutside("response", r.getResponseTokens(), tokens));
          if (outside.isPresent()) return outside;
          int length = r.getPromptTokens().size() + r.getResponseTokens().size();
          if (length > context)
            return Optional.of(
                length + " prompt and response tokens exceed the model's context of " + context);
          return Optional.empty();
        };
    return RecordChecks.ROLLOUT.and(fits);
  }

  private static Optional<String> firstOutside(String field, List<Integer> ids, int limit) {
    for (int i = 0; i < ids.size(); i++) {
      if (ids.get(i) >= limit)
        return Optional.of(
            field
                + " token "
                + ids.get(i)
                + " at "
                + i
                + " is not one the model emits (0.."
                + (limit - 1)
                + ")");
    }
    return Optional.empty();
  }
}
