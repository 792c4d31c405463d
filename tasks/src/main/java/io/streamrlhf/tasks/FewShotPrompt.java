package io.streamrlhf.tasks;

import java.util.HashSet;

/**
 * The prompt of the "base model, 3-shot" row (TASKS.md; GPT-3's few-shot evaluation): three worked
 * examples of the target's family, each an instruction line and its correct answer line, then the
 * target prompt, in the layout of the corpus's worked-example documents:
 *
 * <pre>
 * Reverse pig.
 * gip
 * Reverse stone.
 * enots
 * Reverse ab.
 * ba
 * Reverse cat.
 * </pre>
 *
 * The shots are training tasks (never a held-out prompt; color and insult about training objects
 * and names), distinct from each other and from the target. The model's continuation is then cut
 * with {@link Completion#cutAtFirstNewline}.
 */
public final class FewShotPrompt {
  public static final int SHOTS = 3;

  private FewShotPrompt() {}

  /**
   * The 3-shot prompt for {@code target}, ending with the target's newline. The shots depend only
   * on {@code seed} and the target's instruction, so an evaluation is reproducible and different
   * prompts get different shots.
   */
  public static String build(Task target, long seed) {
    var prompts = new TrainingPrompts(SplitMix64.stream(seed, "few-shot " + target.instruction()));
    var used = new HashSet<String>();
    used.add(target.instruction());
    var sb = new StringBuilder();
    int shots = 0;
    while (shots < SHOTS) {
      var shot = prompts.next(target.family());
      if (used.add(shot.instruction())) {
        sb.append(shot.prompt()).append(shot.reference()).append('\n');
        shots++;
      }
    }
    return sb.append(target.prompt()).toString();
  }
}
