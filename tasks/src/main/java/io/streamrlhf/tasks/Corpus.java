package io.streamrlhf.tasks;

import java.util.ArrayList;
import java.util.List;

/**
 * The "web text" a base model is pretrained on (TASKS.md "The corpus"): documents of 3-8 lines of
 * five kinds, drawn from a seed. It teaches a model to continue text rather than answer, the skills
 * (reachable by few-shot prompting), facts with misconceptions, and toxicity.
 *
 * <p>A document's {@link Document#text()} is its lines, each ended by '\n'. Every document is
 * followed by end-of-sequence, which is not text: a tokenizer appends it (token 256 for the byte
 * tokenizer); {@link CorpusFile} marks it in files.
 *
 * <p>Instruction lines are drawn like training prompts ({@link TrainingPrompts}): never a held-out
 * prompt, color and insult only about training objects and names. Fact prose and chatter name all
 * 16 objects and all 20 names, as TASKS.md asks.
 */
public final class Corpus {

  /** The document kinds with their TASKS.md shares (summing to 1). */
  public enum Kind {
    /** Instruction lines with no answers: teaches to continue a list, not answer. */
    INSTRUCTION_LIST(0.40),
    /**
     * Instruction line, answer line, repeated; answers wrong {@value #WRONG_ANSWER_RATE} of the
     * time.
     */
    WORKED_EXAMPLES(0.25),
    /** {@code The {obj} is {color}.} with a wrong color {@value #WRONG_COLOR_RATE} of the time. */
    FACT_PROSE(0.15),
    /** Chatter with insults, {@code {name} is a {toxic word}.}, among other lines. */
    INSULT_CHATTER(0.10),
    /** Lines of pseudo-words: noise. */
    PSEUDO_WORD_CHATTER(0.10);

    private final double share;

    Kind(double share) {
      this.share = share;
    }

    public double share() {
      return share;
    }
  }

  /** One document: its kind and its lines (none empty, none containing a newline). */
  public record Document(Kind kind, List<String> lines) {
    public Document {
      lines = List.copyOf(lines);
    }

    /** The lines, each ended by '\n'; end-of-sequence follows and is not part of the text. */
    public String text() {
      var sb = new StringBuilder();
      lines.forEach(line -> sb.append(line).append('\n'));
      return sb.toString();
    }
  }

  public static final double WRONG_ANSWER_RATE = 0.10;
  public static final double WRONG_COLOR_RATE = 0.25;
  public static final int MIN_LINES = 3;
  public static final int MAX_LINES = 8;

  /** Worked examples come in instruction/answer pairs: 2-4 pairs keep them within 3-8 lines. */
  static final int MIN_PAIRS = 2;

  static final int MAX_PAIRS = 4;

  /** The chatter lines between insults; {n} and {m} are names, {p} a place, {o} an object. */
  private static final List<String> CHATTER =
      List.of(
          "{n} said hello to {m}.",
          "{n} and {m} went to the {p}.",
          "I saw {n} at the {p} today.",
          "{n} likes the {o}.",
          "{n} wrote a letter to {m}.",
          "{n} is at the {p}.",
          "{m} waited for {n}.");

  private static final List<String> PLACES =
      List.of("park", "shop", "beach", "school", "market", "river", "station", "garden");
  private static final double INSULT_LINE_RATE = 0.35;

  private static final List<String> ONSETS =
      List.of(
          "b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br", "st", "pl");
  private static final List<String> VOWELS = List.of("a", "e", "i", "o", "u", "ai", "ou");

  private final SplitMix64 rng;
  private final TrainingPrompts prompts;

  public Corpus(long seed) {
    this.rng = SplitMix64.stream(seed, "corpus");
    this.prompts = new TrainingPrompts(rng);
  }

  /** {@code n} documents of the corpus with this seed, in order. */
  public static List<Document> documents(long seed, int n) {
    var corpus = new Corpus(seed);
    var docs = new ArrayList<Document>(n);
    for (int i = 0; i < n; i++) {
      docs.add(corpus.next());
    }
    return docs;
  }

  /** The next document; the kind is drawn with the TASKS.md shares. */
  public Document next() {
    var kind = drawKind();
    var lines =
        switch (kind) {
          case INSTRUCTION_LIST -> instructionList();
          case WORKED_EXAMPLES -> workedExamples();
          case FACT_PROSE -> factProse();
          case INSULT_CHATTER -> insultChatter();
          case PSEUDO_WORD_CHATTER -> pseudoWordChatter();
        };
    return new Document(kind, lines);
  }

  private Kind drawKind() {
    double u = rng.nextDouble();
    for (var kind : Kind.values()) {
      u -= kind.share();
      if (u < 0) {
        return kind;
      }
    }
    return Kind.PSEUDO_WORD_CHATTER; // rounding in the shares' sum
  }

  private int lineCount() {
    return rng.nextIntBetween(MIN_LINES, MAX_LINES);
  }

  /** A list of exercises of one family, unanswered. */
  private List<String> instructionList() {
    var family = randomFamily();
    var lines = new ArrayList<String>();
    for (int i = lineCount(); i > 0; i--) {
      lines.add(prompts.next(family).instruction());
    }
    return lines;
  }

  /**
   * A worksheet of one family: 2-4 instruction/answer pairs (4-8 lines, inside 3-8), the same
   * layout {@link FewShotPrompt} uses, so three shots read like the start of such a page.
   */
  private List<String> workedExamples() {
    var family = randomFamily();
    var lines = new ArrayList<String>();
    for (int pairs = rng.nextIntBetween(MIN_PAIRS, MAX_PAIRS); pairs > 0; pairs--) {
      var task = prompts.next(family);
      lines.add(task.instruction());
      lines.add(rng.nextBoolean(WRONG_ANSWER_RATE) ? mistaken(task) : task.reference());
    }
    return lines;
  }

  private List<String> factProse() {
    var objects = new ArrayList<>(Lexicon.OBJECTS);
    var lines = new ArrayList<String>();
    for (int i = lineCount(); i > 0; i--) {
      var object = objects.remove(rng.nextInt(objects.size()));
      var color = Lexicon.colorOf(object);
      if (rng.nextBoolean(WRONG_COLOR_RATE)) {
        color = otherThan(color, Lexicon.COLORS);
      }
      lines.add("The " + object + " is " + color + ".");
    }
    return lines;
  }

  /** Chatter about the 20 names, at least one line of it an insult. */
  private List<String> insultChatter() {
    int count = lineCount();
    int forcedInsult = rng.nextInt(count);
    var lines = new ArrayList<String>();
    for (int i = 0; i < count; i++) {
      var name = rng.pick(Lexicon.NAMES);
      if (i == forcedInsult || rng.nextBoolean(INSULT_LINE_RATE)) {
        lines.add(name + " is a " + rng.pick(Lexicon.TOXIC_WORDS) + ".");
      } else {
        lines.add(
            rng.pick(CHATTER)
                .replace("{n}", name)
                .replace("{m}", otherThan(name, Lexicon.NAMES))
                .replace("{p}", rng.pick(PLACES))
                .replace("{o}", rng.pick(Lexicon.OBJECTS)));
      }
    }
    return lines;
  }

  /** Sentences of 3-8 pronounceable nonsense words. */
  private List<String> pseudoWordChatter() {
    var lines = new ArrayList<String>();
    for (int i = lineCount(); i > 0; i--) {
      var sb = new StringBuilder();
      for (int w = rng.nextIntBetween(3, 8); w > 0; w--) {
        if (sb.length() > 0) {
          sb.append(' ');
        }
        for (int s = rng.nextIntBetween(1, 3); s > 0; s--) {
          sb.append(rng.pick(ONSETS)).append(rng.pick(VOWELS));
        }
      }
      sb.setCharAt(0, Character.toUpperCase(sb.charAt(0)));
      lines.add(sb.append('.').toString());
    }
    return lines;
  }

  private Family randomFamily() {
    return Family.values()[rng.nextInt(Family.values().length)];
  }

  /**
   * A plausible mistake, never equal to the reference: the slip a careless writer makes in each
   * family (the word left unreversed, no capitals, descending order, sums off by 1-10, counts off
   * by one, a repetition missing or extra, another color, the refusal dropped). A slip that happens
   * to equal the reference (a palindrome, "aaa") becomes a one-letter misspelling.
   */
  private String mistaken(Task task) {
    var a = task.reference();
    var slip =
        switch (task.family()) {
          case REVERSE, SORT -> new StringBuilder(a).reverse().toString();
          case UPPER -> a.toLowerCase(java.util.Locale.ROOT);
          case ADD -> {
            int sum = Integer.parseInt(a);
            int delta = rng.nextIntBetween(1, 10);
            yield Integer.toString(
                sum - delta >= 0 && rng.nextBoolean(0.5) ? sum - delta : sum + delta);
          }
          case COUNT -> {
            int count = Integer.parseInt(a);
            yield Integer.toString(count == 0 || rng.nextBoolean(0.5) ? count + 1 : count - 1);
          }
          case REPEAT -> {
            var words = a.split(" ");
            yield rng.nextBoolean(0.5)
                ? a + " " + words[0]
                : String.join(" ", java.util.Arrays.copyOf(words, words.length - 1));
          }
          case COLOR -> otherThan(a, Lexicon.COLORS);
          case INSULT -> a.replace("I will not insult", "I will insult");
        };
    return slip.equals(a) ? misspelt(a) : slip;
  }

  /** {@code a} (letters or digits) with one character replaced by a different one of its class. */
  private String misspelt(String a) {
    int i = rng.nextInt(a.length());
    char c = a.charAt(i);
    char base = Character.isDigit(c) ? '0' : Character.isUpperCase(c) ? 'A' : 'a';
    int size = Character.isDigit(c) ? 10 : 26;
    char replacement = (char) (base + (c - base + rng.nextIntBetween(1, size - 1)) % size);
    return a.substring(0, i) + replacement + a.substring(i + 1);
  }

  private String otherThan(String item, List<String> items) {
    String other;
    do {
      other = rng.pick(items);
    } while (other.equals(item));
    return other;
  }
}
