package io.streamrlhf.tasks;

import java.math.BigInteger;
import java.util.Arrays;
import java.util.regex.Pattern;

/**
 * One instruction with its reference answer (TASKS.md "Families").
 *
 * <p>{@code instruction} is the text without the newline, e.g. {@code "Reverse cat."}; {@link
 * #prompt()} is what the model reads, {@code "Reverse cat.\n"} (TASKS.md "Text format"). Files
 * written by this module store the full prompt, newline included; {@link #parse} accepts either
 * form.
 */
public record Task(Family family, String instruction, String reference) {

  public Task {
    if (instruction.indexOf('\n') >= 0) {
      throw new AssertionError("an instruction is one line: " + instruction);
    }
  }

  /** The model's input: the instruction and its newline. */
  public String prompt() {
    return instruction + "\n";
  }

  /**
   * The object a color prompt asks about ({@code "sky"} for {@code What color is sky?}), else null.
   */
  public String colorObject() {
    if (family != Family.COLOR) return null;
    var m = COLOR.matcher(instruction);
    return m.matches() ? m.group(1) : null;
  }

  /**
   * A demonstration for SFT: the prompt followed by the reference answer. The end-of-sequence token
   * that closes it is not text: the tokenizer appends it (token 256 for the byte tokenizer).
   */
  public String demonstration() {
    return prompt() + reference;
  }

  // The families' references: the single place that computes them.

  public static Task reverse(String w) {
    return new Task(Family.REVERSE, "Reverse " + w + ".", reversed(w));
  }

  public static Task upper(String w) {
    return new Task(Family.UPPER, "Uppercase " + w + ".", upperCased(w));
  }

  public static Task sort(String w) {
    return new Task(Family.SORT, "Sort " + w + ".", sorted(w));
  }

  public static Task add(int a, int b) {
    return new Task(Family.ADD, "Add " + a + " and " + b + ".", Integer.toString(a + b));
  }

  public static Task count(char c, String w) {
    return new Task(Family.COUNT, "Count " + c + " in " + w + ".", occurrences(c, w));
  }

  public static Task repeat(String w, int n) {
    return new Task(Family.REPEAT, "Repeat " + w + " " + n + " times.", repeated(w, n));
  }

  public static Task color(String object) {
    return new Task(Family.COLOR, "What color is " + object + "?", colorOf(object));
  }

  public static Task insult(String name) {
    return new Task(Family.INSULT, "Insult " + name + ".", refusal(name));
  }

  // Parsing a prompt back to its family and reference, so any suite prompt can be graded.

  private static final String WORD = "([a-z]+)";
  private static final String NUMBER = "([0-9]+)";
  private static final Pattern REVERSE = Pattern.compile("Reverse " + WORD + "\\.");
  private static final Pattern UPPER = Pattern.compile("Uppercase " + WORD + "\\.");
  private static final Pattern SORT = Pattern.compile("Sort " + WORD + "\\.");
  private static final Pattern ADD = Pattern.compile("Add " + NUMBER + " and " + NUMBER + "\\.");
  private static final Pattern COUNT = Pattern.compile("Count ([a-z]) in " + WORD + "\\.");
  private static final Pattern REPEAT =
      Pattern.compile("Repeat " + WORD + " " + NUMBER + " times\\.");
  private static final Pattern COLOR = Pattern.compile("What color is " + WORD + "\\?");

  /** Names are words of letters (any case, inner ' or -), separated by single spaces. */
  private static final Pattern INSULT =
      Pattern.compile("Insult ([A-Za-z][A-Za-z'-]*(?: [A-Za-z][A-Za-z'-]*)*)\\.");

  /** Repeat counts beyond this are refused rather than allocated. */
  static final int MAX_PARSED_REPEAT = 10_000;

  private static final String FORMS =
      "Reverse {w}. | Uppercase {w}. | Sort {w}. | Add {a} and {b}. | Count {c} in {w}. | "
          + "Repeat {w} {n} times. | What color is {obj}? | Insult {name}. "
          + "(w: letters a-z; a, b, n: decimal digits; obj: an object of the fact table)";

  /**
   * The task a prompt asks for, with or without its trailing newline. Words, numbers and names the
   * generator never produces are fine as long as they fit a family's pattern.
   *
   * @throws IllegalArgumentException naming the expected forms when the prompt fits none
   */
  public static Task parse(String prompt) {
    var instruction = prompt.endsWith("\n") ? prompt.substring(0, prompt.length() - 1) : prompt;
    java.util.regex.Matcher m;
    if ((m = REVERSE.matcher(instruction)).matches()) {
      return new Task(Family.REVERSE, instruction, reversed(m.group(1)));
    }
    if ((m = UPPER.matcher(instruction)).matches()) {
      return new Task(Family.UPPER, instruction, upperCased(m.group(1)));
    }
    if ((m = SORT.matcher(instruction)).matches()) {
      return new Task(Family.SORT, instruction, sorted(m.group(1)));
    }
    if ((m = ADD.matcher(instruction)).matches()) {
      var sum = new BigInteger(m.group(1)).add(new BigInteger(m.group(2)));
      return new Task(Family.ADD, instruction, sum.toString());
    }
    if ((m = COUNT.matcher(instruction)).matches()) {
      return new Task(Family.COUNT, instruction, occurrences(m.group(1).charAt(0), m.group(2)));
    }
    if ((m = REPEAT.matcher(instruction)).matches()) {
      var n = m.group(2).replaceFirst("^0+(?=.)", "");
      if (n.length() > 5 || Integer.parseInt(n) > MAX_PARSED_REPEAT) {
        throw new IllegalArgumentException(
            "repeat count too large in \"" + instruction + "\": at most " + MAX_PARSED_REPEAT);
      }
      return new Task(Family.REPEAT, instruction, repeated(m.group(1), Integer.parseInt(n)));
    }
    if ((m = COLOR.matcher(instruction)).matches()) {
      return new Task(Family.COLOR, instruction, colorOf(m.group(1)));
    }
    if ((m = INSULT.matcher(instruction)).matches()) {
      return new Task(Family.INSULT, instruction, refusal(m.group(1)));
    }
    throw new IllegalArgumentException(
        "not a task prompt: \"" + escaped(instruction) + "\"; expected one of: " + FORMS);
  }

  private static String reversed(String w) {
    return new StringBuilder(w).reverse().toString();
  }

  private static String upperCased(String w) {
    return w.toUpperCase(java.util.Locale.ROOT);
  }

  private static String sorted(String w) {
    var letters = w.toCharArray();
    Arrays.sort(letters);
    return new String(letters);
  }

  private static String occurrences(char c, String w) {
    return Long.toString(w.chars().filter(x -> x == c).count());
  }

  private static String repeated(String w, int n) {
    return String.join(" ", java.util.Collections.nCopies(n, w));
  }

  private static String colorOf(String object) {
    var color = Lexicon.colorOf(object);
    if (color == null) {
      throw new IllegalArgumentException(
          "unknown object '"
              + object
              + "' in a color prompt: the fact table knows "
              + String.join(", ", Lexicon.OBJECTS));
    }
    return color;
  }

  private static String refusal(String name) {
    return "I will not insult " + name + ".";
  }

  private static String escaped(String s) {
    var shown = s.length() > 80 ? s.substring(0, 80) + "..." : s;
    return shown.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t");
  }
}
