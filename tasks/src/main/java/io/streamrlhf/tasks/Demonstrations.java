package io.streamrlhf.tasks;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.IntStream;

/**
 * SFT demonstrations (InstructGPT step 1) as TASKS.md's simulated labelers write them: 70% the
 * reference answer, 15% the reference wrapped in small talk, 15% a family-specific slip. Every
 * demonstration is written from a stream of its own (seed, index), so its kind and text do not
 * depend on how many demonstrations are drawn, and a pool of n is the first n of a pool of n + 1.
 *
 * <p>A preset draws a fixed {@link #pool} and SFT trains several epochs over it: demonstrations are
 * the scarce resource, as in InstructGPT (13k demonstrations against 33k ranked prompts).
 */
public final class Demonstrations {
  private Demonstrations() {}

  /** TASKS.md: the small-talk prefixes, equally likely. */
  static final List<String> CHATTER_PREFIXES = List.of("Sure! ", "OK, ", "Here you go: ");

  /** TASKS.md: the small-talk suffixes, equally likely; a suffix is as likely as a prefix. */
  static final List<String> CHATTER_SUFFIXES = List.of(" Hope this helps!", " :)");

  /**
   * How often a prompt already in the pool is drawn again, from its family, before it is taken as a
   * repeat: a family's prompts can run out in a pool of millions.
   */
  static final int REDRAWS = 64;

  /**
   * The first {@code n} demonstrations of {@code seed}: training prompts (families uniform, from
   * their own stream, so they differ from PPO prompts of the same seed), distinct but for color's
   * and insult's ({@link Family#fewTrainingPrompts}: 8 objects and 10 names, which a pool of a few
   * hundred asks again), each written by {@link #write}; every copy is written anew.
   */
  public static List<Demonstration> pool(long seed, int n) {
    var demos = new ArrayList<Demonstration>(n);
    drawn(seed, n).forEach(demos::add);
    return demos;
  }

  /**
   * The same first {@code n} demonstrations as {@link #pool}, each written only when it is reached:
   * a file of millions of demonstrations is written without holding them all.
   */
  public static Iterable<Demonstration> drawn(long seed, int n) {
    return () -> {
      var prompts = new TrainingPrompts(SplitMix64.stream(seed, "demonstrations"));
      // a repeat's replacement comes from a stream of its own, so every other prompt of the pool
      // is the one the first stream gives, whether or not one before it was drawn again
      var redraws = new TrainingPrompts(SplitMix64.stream(seed, "demonstration-redraws"));
      var inPool = new HashSet<String>();
      return IntStream.range(0, n)
          .mapToObj(
              i ->
                  write(
                      distinct(prompts.next(), redraws, inPool),
                      SplitMix64.stream(seed, "demonstration-writer-" + i)))
          .iterator();
    };
  }

  /** TASKS.md's pool is of distinct demonstrations: a prompt in it already is drawn again. */
  private static Task distinct(Task task, TrainingPrompts redraws, Set<String> inPool) {
    if (task.family().fewTrainingPrompts()) return task;
    for (int i = 0; !inPool.add(task.instruction()) && i < REDRAWS; i++) {
      task = redraws.next(task.family()); // the same family: families stay uniform
    }
    return task;
  }

  /** One labeler's demonstration of {@code task}: the kind by its share, then the text. */
  public static Demonstration write(Task task, SplitMix64 writer) {
    double u = writer.nextDouble();
    if (u < Demonstration.Kind.CLEAN.share()) {
      return new Demonstration(task, Demonstration.Kind.CLEAN, task.reference());
    }
    if (u < Demonstration.Kind.CLEAN.share() + Demonstration.Kind.CHATTER.share()) {
      return new Demonstration(task, Demonstration.Kind.CHATTER, chatter(task.reference(), writer));
    }
    return new Demonstration(task, Demonstration.Kind.SLIP, slip(task, writer));
  }

  /** The reference with a small-talk prefix or, as often, a suffix. */
  static String chatter(String reference, SplitMix64 writer) {
    return writer.nextBoolean(0.5)
        ? writer.pick(CHATTER_PREFIXES) + reference
        : reference + writer.pick(CHATTER_SUFFIXES);
  }

  /** TASKS.md's family-specific mistake; every one lowers the oracle's score. */
  static String slip(Task task, SplitMix64 writer) {
    var reference = task.reference();
    return switch (task.family()) {
      case REVERSE, SORT -> replaceOneLetter(reference, 0, reference.length(), 'a', writer);
      case UPPER -> replaceOneLetter(reference, 0, reference.length(), 'A', writer);
      case REPEAT -> {
        // the copies are "w w w": pick a copy, then a letter inside it
        int word = reference.indexOf(' ');
        int copies = (reference.length() + 1) / (word + 1);
        int start = writer.nextInt(copies) * (word + 1);
        yield replaceOneLetter(reference, start, start + word, 'a', writer);
      }
      case ADD, COUNT -> {
        int answer = Integer.parseInt(reference);
        int off =
            answer == 0 || writer.nextBoolean(0.5) ? answer + 1 : answer - 1; // never negative
        yield Integer.toString(off);
      }
      case COLOR -> {
        var others = Lexicon.COLORS.stream().filter(c -> !c.equals(reference)).toList();
        yield writer.pick(others); // a misconception
      }
      case INSULT -> {
        // compliance: the name as the prompt gives it, "Insult {name}."
        var name =
            task.instruction().substring("Insult ".length(), task.instruction().length() - 1);
        yield name + " is a " + writer.pick(Lexicon.TOXIC_WORDS) + ".";
      }
    };
  }

  /**
   * {@code text} with the letter at a uniform position in [from, to) replaced by another letter of
   * the same case ({@code first} is 'a' or 'A').
   */
  private static String replaceOneLetter(
      String text, int from, int to, char first, SplitMix64 writer) {
    int at = from + writer.nextInt(to - from);
    int old = text.charAt(at) - first;
    int other = writer.nextInt(25); // one of the 25 other letters
    char replacement = (char) (first + (other >= old ? other + 1 : other));
    return text.substring(0, at) + replacement + text.substring(at + 1);
  }
}
