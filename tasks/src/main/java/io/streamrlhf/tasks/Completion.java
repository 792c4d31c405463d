package io.streamrlhf.tasks;

import java.nio.charset.StandardCharsets;

/**
 * A model's response as the oracle sees it: the text before end-of-sequence, and whether
 * end-of-sequence came within the 48-token budget (TASKS.md "Text format").
 */
public record Completion(String text, boolean terminated) {

  /** TASKS.md: a response is at most 48 new tokens. */
  public static final int MAX_NEW_TOKENS = 48;

  /**
   * A response as a label request shows it, as text only (what a labeler sees): tokens are UTF-8
   * bytes, so a text shorter than {@link #MAX_NEW_TOKENS} bytes ended with end-of-sequence, and one
   * that fills the budget was cut there. (Bytes a model produced that are not valid UTF-8 reached
   * the request as U+FFFD, which may lengthen a text: such a response is no answer anyway.)
   */
  public static Completion ofLabelText(String text) {
    return new Completion(text, text.getBytes(StandardCharsets.UTF_8).length < MAX_NEW_TOKENS);
  }

  /**
   * The base-model rows of the eval table (TASKS.md "The InstructGPT-style table"): a base model
   * continues text rather than answering, so, as GPT-3's few-shot evaluation used stop sequences,
   * its output is cut at the first newline, and it counts as terminated when a newline or
   * end-of-sequence came within the budget.
   *
   * @param generated the text generated (at most {@link #MAX_NEW_TOKENS} tokens), before any
   *     end-of-sequence
   * @param endedWithEos whether generation stopped on end-of-sequence within the budget
   */
  public static Completion cutAtFirstNewline(String generated, boolean endedWithEos) {
    int newline = generated.indexOf('\n');
    return newline >= 0
        ? new Completion(generated.substring(0, newline), true)
        : new Completion(generated, endedWithEos);
  }
}
