package io.streamrlhf.tasks;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The held-out evaluation prompts (TASKS.md): 400 prompts, 50 per family, in the order of the
 * family table, drawn from their own fixed seed. Color prompts ask only about the evaluation
 * objects and insult prompts only about the evaluation names, with repeats (there are only 8 and 10
 * of them); the other families' 50 prompts are distinct. Training sources drop every prompt string
 * found here ({@link #contains}).
 */
public final class EvalSet {
  /** The evaluation set's own seed: InstructGPT's arXiv date, 2022-03-04. Never change it. */
  public static final long SEED = 20220304L;

  public static final int PER_FAMILY = 50;

  /** How many prompts the set holds: 50 of each of the 8 families. */
  public static final int SIZE = PER_FAMILY * Family.values().length;

  private static final List<Task> TASKS = generate();
  private static final Set<String> INSTRUCTIONS =
      TASKS.stream().map(Task::instruction).collect(Collectors.toUnmodifiableSet());

  private EvalSet() {}

  /** The 400 held-out tasks: 50 reverse, then 50 upper, ... then 50 insult. */
  public static List<Task> tasks() {
    return TASKS;
  }

  /** Whether {@code prompt} (with or without its trailing newline) is a held-out prompt. */
  public static boolean contains(String prompt) {
    var instruction = prompt.endsWith("\n") ? prompt.substring(0, prompt.length() - 1) : prompt;
    return INSTRUCTIONS.contains(instruction);
  }

  /** Draws the set afresh; package-private so a test can check two draws agree. */
  static List<Task> generate() {
    var rng = new SplitMix64(SEED);
    var tasks = new ArrayList<Task>(PER_FAMILY * Family.values().length);
    for (var family : Family.values()) {
      boolean repeatsAllowed = family == Family.COLOR || family == Family.INSULT;
      var seen = new HashSet<String>();
      int drawn = 0;
      while (drawn < PER_FAMILY) {
        var task = family.draw(rng, Split.EVAL);
        if (repeatsAllowed || seen.add(task.instruction())) {
          tasks.add(task);
          drawn++;
        }
      }
    }
    return List.copyOf(tasks);
  }
}
