package io.streamrlhf.tasks;

import java.util.ArrayList;
import java.util.List;

/**
 * SFT demonstrations (InstructGPT step 1): training tasks whose response is the reference
 * answer, ended by end-of-sequence. {@link Task#demonstration()} gives the text; the tokenizer
 * appends the end-of-sequence token.
 */
public final class Demonstrations {
  private Demonstrations() {}

  /** {@code n} demonstrations, families uniform; their own stream, so they differ from PPO prompts of the same seed. */
  public static List<Task> sample(long seed, int n) {
    var prompts = new TrainingPrompts(SplitMix64.stream(seed, "demonstrations"));
    var demos = new ArrayList<Task>(n);
    for (int i = 0; i < n; i++) {
      demos.add(prompts.next());
    }
    return demos;
  }
}
