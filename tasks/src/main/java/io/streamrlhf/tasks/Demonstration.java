package io.streamrlhf.tasks;

import java.util.Locale;

/**
 * One SFT demonstration as a simulated labeler wrote it (TASKS.md "Demonstrations: written by
 * labelers, who slip"): the task, what the writer produced after the prompt, and which kind of
 * writing it was. The end-of-sequence token that closes {@code response} is the tokenizer's.
 */
public record Demonstration(Task task, Kind kind, String response) {

  /** TASKS.md's three kinds of writing, with their shares. */
  public enum Kind {
    /** The reference answer. */
    CLEAN(0.70),
    /** The reference wrapped in small talk. */
    CHATTER(0.15),
    /** A family-specific mistake. */
    SLIP(0.15);

    private final double share;

    Kind(double share) {
      this.share = share;
    }

    /** The share of demonstrations of this kind. */
    public double share() {
      return share;
    }

    /** The lowercase name written to files ("clean", "chatter", "slip"). */
    public String id() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  public Demonstration {
    if (response.indexOf('\n') >= 0) {
      throw new AssertionError("a demonstration's response is one line: " + response);
    }
  }

  /** The model's input, {@code "{instruction}\n"}. */
  public String prompt() {
    return task.prompt();
  }
}
