package io.streamrlhf.tasks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.Map;
import org.junit.jupiter.api.Test;

class DemonstrationsTest {
  private static final int N = 10_000;

  @Test
  void eachKindHasItsShareWithinTwoPoints() {
    var counts = new EnumMap<Demonstration.Kind, Integer>(Demonstration.Kind.class);
    for (var demo : Demonstrations.pool(11, N)) counts.merge(demo.kind(), 1, Integer::sum);
    for (var kind : Demonstration.Kind.values()) {
      assertThat(counts.getOrDefault(kind, 0) / (double) N)
          .as(kind.id())
          .isCloseTo(kind.share(), within(0.02));
    }
  }

  @Test
  void chatterAndSlipsScoreBelowTheReferenceAndCleanEqualsIt() {
    var slipsByFamily = new EnumMap<Family, Integer>(Family.class);
    for (var demo : Demonstrations.pool(12, N)) {
      var task = demo.task();
      double reference = Oracle.grade(task, task.reference(), true).score();
      double written = Oracle.grade(task, demo.response(), true).score();
      switch (demo.kind()) {
        case CLEAN -> assertThat(demo.response()).isEqualTo(task.reference());
        case CHATTER, SLIP -> assertThat(written).as(demo.toString()).isLessThan(reference);
      }
      if (demo.kind() == Demonstration.Kind.SLIP)
        slipsByFamily.merge(task.family(), 1, Integer::sum);
    }
    assertThat(slipsByFamily.keySet()).containsExactlyInAnyOrder(Family.values());
  }

  @Test
  void slipsAreTheFamiliesMistakes() {
    Map<Family, Task> tasks =
        Map.of(
            Family.REVERSE,
            Task.reverse("planet"),
            Family.UPPER,
            Task.upper("cat"),
            Family.SORT,
            Task.sort("dog"),
            Family.REPEAT,
            Task.repeat("ab", 3),
            Family.ADD,
            Task.add(0, 0),
            Family.COUNT,
            Task.count('z', "cat"),
            Family.COLOR,
            Task.color("sky"),
            Family.INSULT,
            Task.insult("bob"));
    var rng = new SplitMix64(3);
    var seenRepeatCopies = new HashSet<Integer>();
    for (int i = 0; i < 300; i++) {
      for (var task : tasks.values()) {
        var slip = Demonstrations.slip(task, rng);
        var reference = task.reference();
        switch (task.family()) {
          case REVERSE, UPPER, SORT, REPEAT -> {
            assertThat(slip).hasSameSizeAs(reference);
            assertThat(Oracle.levenshtein(slip, reference)).isEqualTo(1);
            var letters = task.family() == Family.UPPER ? "[A-Z ]+" : "[a-z ]+";
            assertThat(slip).matches(letters);
            if (task.family() == Family.REPEAT) {
              var copies = slip.split(" ");
              assertThat(copies).hasSize(3);
              for (int c = 0; c < copies.length; c++)
                if (!copies[c].equals("ab")) seenRepeatCopies.add(c);
            }
          }
          case ADD, COUNT -> assertThat(slip).isEqualTo("1"); // 0 ± 1, never negative
          case COLOR -> assertThat(slip).isIn(Lexicon.COLORS).isNotEqualTo("blue");
          case INSULT ->
              assertThat(slip).matches("bob is a (idiot|stupid|loser|dumb|moron|fool)\\.");
        }
      }
    }
    assertThat(seenRepeatCopies).containsExactlyInAnyOrder(0, 1, 2);
  }

  @Test
  void chatterIsAPrefixOrASuffixAsOften() {
    var rng = new SplitMix64(4);
    int prefixes = 0;
    for (int i = 0; i < 4_000; i++) {
      var text = Demonstrations.chatter("tac", rng);
      boolean prefixed =
          Demonstrations.CHATTER_PREFIXES.stream().anyMatch(p -> text.equals(p + "tac"));
      boolean suffixed =
          Demonstrations.CHATTER_SUFFIXES.stream().anyMatch(s -> text.equals("tac" + s));
      assertThat(prefixed ^ suffixed).as(text).isTrue();
      if (prefixed) prefixes++;
    }
    assertThat(prefixes / 4_000.0).isCloseTo(0.5, within(0.04));
  }

  @Test
  void aPoolsPromptsAreDistinctWhereTheirFamilyHasEnoughAndTheRestAreTheStreams() {
    // the tiny preset's pool: 375 add prompts of 10,000 repeated 11 before they were drawn again
    int n = 3_000;
    var stream = new TrainingPrompts(SplitMix64.stream(2, "demonstrations"));
    var seen = new HashSet<String>();
    var counts = new EnumMap<Family, Integer>(Family.class);
    int redrawn = 0;
    for (var demo : Demonstrations.pool(2, n)) {
      var task = demo.task();
      var drawn = stream.next();
      counts.merge(task.family(), 1, Integer::sum);
      assertThat(task.family()).isEqualTo(drawn.family());
      boolean fresh = seen.add(task.instruction());
      if (task.family().fewTrainingPrompts()) {
        assertThat(task).isEqualTo(drawn);
        continue;
      }
      assertThat(fresh).as("a repeated prompt: %s", task.instruction()).isTrue();
      if (task.equals(drawn)) continue;
      // drawn again only where the stream repeated a prompt, and nowhere else
      assertThat(seen).as("%s replaced", drawn.instruction()).contains(drawn.instruction());
      redrawn++;
    }
    assertThat(redrawn).as("the repeats the stream gave").isPositive();
    for (var family : Family.values()) {
      assertThat(counts.get(family) / (double) n).as(family.name()).isCloseTo(0.125, within(0.02));
    }
  }

  @Test
  void aDemonstrationDoesNotDependOnThePoolSize() {
    var small = Demonstrations.pool(5, 100);
    var large = Demonstrations.pool(5, 1_000);
    assertThat(large.subList(0, 100)).isEqualTo(small);
    assertThat(Demonstrations.pool(6, 100)).isNotEqualTo(small);
  }

  @Test
  void aPoolOfAnySizeIsDrawnOnlyAsFarAsItIsRead() {
    // a pool of 2^31 - 1 demonstrations, held whole, would not fit in the heap
    var first = new ArrayList<Demonstration>();
    var huge = Demonstrations.drawn(5, Integer.MAX_VALUE).iterator();
    for (int i = 0; i < 100; i++) first.add(huge.next());
    assertThat(first).isEqualTo(Demonstrations.pool(5, 100));
    assertThat(Demonstrations.drawn(5, 3)).hasSize(3);
  }
}
