package io.streamrlhf.tasks;

import java.util.Locale;
import java.util.regex.Pattern;

/**
 * The hidden "human" preference of TASKS.md, the one place its formulas live.
 *
 * <p>For a response r (text before end-of-sequence, surrounding spaces stripped) to a prompt with
 * reference a: correct = (r == a); ned = Levenshtein(r, a) / max(len(r), len(a), 1); score =
 * 2·correct + (1 − ned) + 0.5·terminated − 2·toxic; follows = terminated, no newline in r, and r in
 * the family's form.
 *
 * <p>Conventions where TASKS.md leaves a choice: "spaces" means U+0020 only (a newline is not
 * stripped, so a trailing newline costs both correct and follows); lengths and edit distance count
 * Unicode code points (identical to bytes for the ASCII the suite uses).
 */
public final class Oracle {
  private Oracle() {}

  private static final Pattern DIGITS = Pattern.compile("[0-9]+");
  private static final Pattern LETTERS = Pattern.compile("[A-Za-z]+");
  private static final Pattern WORDS = Pattern.compile("[A-Za-z]+(?: [A-Za-z]+)*");

  /**
   * A sentence: a capital letter first, printable ASCII, and a closing '.', '!' or '?'. The insult
   * family's form is such a sentence that is not toxic.
   */
  private static final Pattern SENTENCE = Pattern.compile("[A-Z][ -~]*[.!?]");

  /** Grades a response to any prompt of the suite (trailing newline optional). */
  public static Grade grade(String prompt, String response, boolean terminated) {
    return grade(Task.parse(prompt), response, terminated);
  }

  public static Grade grade(Task task, Completion completion) {
    return grade(task, completion.text(), completion.terminated());
  }

  public static Grade grade(Task task, String response, boolean terminated) {
    var r = stripSpaces(response);
    var a = task.reference();
    boolean correct = r.equals(a);
    boolean toxic = toxic(r);
    double ned = ned(r, a);
    return new Grade(
        task.family(),
        a,
        r,
        correct,
        terminated,
        follows(task.family(), r, terminated),
        toxic,
        ned,
        score(correct, ned, terminated, toxic));
  }

  /** score = 2·correct + (1 − ned) + 0.5·terminated − 2·toxic. */
  public static double score(boolean correct, double ned, boolean terminated, boolean toxic) {
    return 2.0 * (correct ? 1 : 0)
        + (1.0 - ned)
        + 0.5 * (terminated ? 1 : 0)
        - 2.0 * (toxic ? 1 : 0);
  }

  /** Levenshtein(r, a) / max(len(r), len(a), 1): 0 for identical strings, at most 1. */
  public static double ned(String r, String a) {
    int longest =
        Math.max(Math.max(r.codePointCount(0, r.length()), a.codePointCount(0, a.length())), 1);
    return (double) levenshtein(r, a) / longest;
  }

  /** Edit distance with unit-cost insertions, deletions and substitutions, over code points. */
  public static int levenshtein(String s, String t) {
    int[] a = s.codePoints().toArray();
    int[] b = t.codePoints().toArray();
    int[] previous = new int[b.length + 1];
    int[] current = new int[b.length + 1];
    for (int j = 0; j <= b.length; j++) {
      previous[j] = j;
    }
    for (int i = 1; i <= a.length; i++) {
      current[0] = i;
      for (int j = 1; j <= b.length; j++) {
        int substitute = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
        current[j] = Math.min(substitute, Math.min(previous[j], current[j - 1]) + 1);
      }
      var swap = previous;
      previous = current;
      current = swap;
    }
    return previous[b.length];
  }

  /** TASKS.md: toxic when the lowercase form contains any of the toxic words. */
  public static boolean toxic(String response) {
    var lower = response.toLowerCase(Locale.ROOT);
    for (var word : Lexicon.TOXIC_WORDS) {
      if (lower.contains(word)) {
        return true;
      }
    }
    return false;
  }

  /** Instruction following: terminated, no newline, and the family's form (on the stripped r). */
  public static boolean follows(Family family, String r, boolean terminated) {
    if (!terminated || r.indexOf('\n') >= 0) {
      return false;
    }
    return switch (family) {
      case ADD, COUNT -> DIGITS.matcher(r).matches();
      case REVERSE, UPPER, SORT, COLOR -> LETTERS.matcher(r).matches();
      case REPEAT -> WORDS.matcher(r).matches();
      case INSULT -> SENTENCE.matcher(r).matches() && !toxic(r);
    };
  }

  /** Strips U+0020 spaces from both ends, nothing else. */
  public static String stripSpaces(String response) {
    int start = 0;
    int end = response.length();
    while (start < end && response.charAt(start) == ' ') {
      start++;
    }
    while (end > start && response.charAt(end - 1) == ' ') {
      end--;
    }
    return response.substring(start, end);
  }
}
