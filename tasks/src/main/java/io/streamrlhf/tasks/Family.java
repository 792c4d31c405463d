package io.streamrlhf.tasks;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The eight instruction families of TASKS.md, in the order of its table, each with the way it draws
 * a fresh task. References are computed by {@link Task}'s factories, the one place that knows them.
 */
public enum Family {
  REVERSE,
  UPPER,
  SORT,
  ADD,
  COUNT,
  REPEAT,
  COLOR,
  INSULT;

  /** TASKS.md: a word is 3-6 letters drawn uniformly from a-z. */
  static final int MIN_WORD = 3;

  static final int MAX_WORD = 6;

  /** TASKS.md: numbers a, b are integers 0-99. */
  static final int MAX_NUMBER = 99;

  /** TASKS.md: count's letter is a letter of the word with probability 0.7, else uniform a-z. */
  static final double COUNT_LETTER_IN_WORD = 0.7;

  /** TASKS.md: repeat's n is 2-4. */
  static final int MIN_REPEAT = 2;

  static final int MAX_REPEAT = 4;

  /** The lowercase name used in files and on the command line ("reverse", "add", ...). */
  public String id() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** The family named {@code id} (case-insensitive); a clear error naming the choices otherwise. */
  public static Family byId(String id) {
    for (var f : values()) {
      if (f.id().equalsIgnoreCase(id)) {
        return f;
      }
    }
    throw new IllegalArgumentException("unknown family '" + id + "': choose one of " + ids());
  }

  public static String ids() {
    return Arrays.stream(values()).map(Family::id).collect(Collectors.joining(", "));
  }

  /**
   * Whether training draws can only ask a handful of prompts: color (8 training objects) and insult
   * (10 training names), TASKS.md's split. Sources that want distinct prompts let these repeat.
   */
  public boolean fewTrainingPrompts() {
    return this == COLOR || this == INSULT;
  }

  /**
   * A fresh task of this family, drawn as TASKS.md describes; objects and names from {@code split}.
   */
  public Task draw(SplitMix64 rng, Split split) {
    return switch (this) {
      case REVERSE -> Task.reverse(word(rng));
      case UPPER -> Task.upper(word(rng));
      case SORT -> Task.sort(word(rng));
      case ADD -> Task.add(rng.nextInt(MAX_NUMBER + 1), rng.nextInt(MAX_NUMBER + 1));
      case COUNT -> {
        var w = word(rng);
        char c =
            rng.nextBoolean(COUNT_LETTER_IN_WORD)
                ? w.charAt(rng.nextInt(w.length()))
                : (char) ('a' + rng.nextInt(26));
        yield Task.count(c, w);
      }
      case REPEAT -> {
        var w = word(rng);
        yield Task.repeat(w, rng.nextIntBetween(MIN_REPEAT, MAX_REPEAT));
      }
      case COLOR -> Task.color(rng.pick(split.objects()));
      case INSULT -> Task.insult(rng.pick(split.names()));
    };
  }

  static String word(SplitMix64 rng) {
    int length = rng.nextIntBetween(MIN_WORD, MAX_WORD);
    var sb = new StringBuilder(length);
    for (int i = 0; i < length; i++) {
      sb.append((char) ('a' + rng.nextInt(26)));
    }
    return sb.toString();
  }
}
