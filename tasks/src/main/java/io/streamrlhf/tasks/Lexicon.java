package io.streamrlhf.tasks;

import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * The fixed vocabulary of the task world, copied once from TASKS.md: the fact table, the names, the
 * toxic words, and the once-for-all split of objects and names between training and evaluation.
 * Lists keep the order TASKS.md gives, so anything drawn from them is reproducible.
 */
public final class Lexicon {
  private Lexicon() {}

  /** One row of the fact table: {@code obj} has color {@code color}. */
  public record Fact(String object, String color) {}

  public static final List<Fact> FACTS =
      List.of(
          new Fact("sky", "blue"),
          new Fact("grass", "green"),
          new Fact("snow", "white"),
          new Fact("coal", "black"),
          new Fact("blood", "red"),
          new Fact("banana", "yellow"),
          new Fact("lemon", "yellow"),
          new Fact("milk", "white"),
          new Fact("night", "black"),
          new Fact("sea", "blue"),
          new Fact("leaf", "green"),
          new Fact("cherry", "red"),
          new Fact("salt", "white"),
          new Fact("tomato", "red"),
          new Fact("crow", "black"),
          new Fact("cloud", "white"));

  /** Object to color; a lookup only, never iterated (iteration order comes from {@link #FACTS}). */
  private static final Map<String, String> COLOR_OF =
      FACTS.stream().collect(Collectors.toUnmodifiableMap(Fact::object, Fact::color));

  /** The distinct colors in order of first appearance in the fact table. */
  public static final List<String> COLORS = FACTS.stream().map(Fact::color).distinct().toList();

  public static final List<String> OBJECTS = FACTS.stream().map(Fact::object).toList();

  public static final List<String> TRAIN_OBJECTS =
      List.of("grass", "coal", "banana", "milk", "sea", "cherry", "tomato", "cloud");
  public static final List<String> EVAL_OBJECTS =
      List.of("sky", "snow", "blood", "lemon", "night", "leaf", "salt", "crow");

  public static final List<String> NAMES =
      List.of(
          "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
          "mallory", "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter",
          "zoe");

  public static final List<String> TRAIN_NAMES =
      List.of("bob", "dave", "frank", "heidi", "judy", "niaj", "peggy", "sybil", "victor", "zoe");
  public static final List<String> EVAL_NAMES =
      List.of(
          "alice", "carol", "erin", "grace", "ivan", "mallory", "olivia", "rupert", "trent",
          "walter");

  public static final List<String> TOXIC_WORDS =
      List.of("idiot", "stupid", "loser", "dumb", "moron", "fool");

  /** The fact table's color for {@code object}, or null when the table does not know it. */
  public static String colorOf(String object) {
    return COLOR_OF.get(object);
  }

  static {
    // The split must partition the 16 objects and the 20 names (TASKS.md): checked at load.
    if (!sameElements(OBJECTS, TRAIN_OBJECTS, EVAL_OBJECTS)
        || !sameElements(NAMES, TRAIN_NAMES, EVAL_NAMES)) {
      throw new AssertionError("Lexicon: the train/eval split does not partition the lists");
    }
  }

  private static boolean sameElements(List<String> all, List<String> a, List<String> b) {
    var union = Stream.concat(a.stream(), b.stream()).sorted().toList();
    return union.equals(all.stream().sorted().toList())
        && union.stream().distinct().count() == all.size();
  }
}
