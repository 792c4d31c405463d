package io.streamrlhf.tasks;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class TaskTest {

  @ParameterizedTest(name = "{0} -> {2}")
  @CsvSource(
      delimiter = '|',
      value = {
        "Reverse cat.|reverse|tac",
        "Reverse abcdef.|reverse|fedcba",
        "Uppercase dog.|upper|DOG",
        "Sort banana.|sort|aaabnn",
        "Sort zyxa.|sort|axyz",
        "Add 0 and 0.|add|0",
        "Add 99 and 99.|add|198",
        "Add 17 and 25.|add|42",
        "Count a in banana.|count|3",
        "Count z in banana.|count|0",
        "Count n in nnn.|count|3",
        "Repeat cat 3 times.|repeat|cat cat cat",
        "Repeat ab 2 times.|repeat|ab ab",
        "What color is sky?|color|blue",
        "What color is banana?|color|yellow",
        "What color is crow?|color|black",
        "What color is tomato?|color|red",
        "Insult bob.|insult|I will not insult bob.",
        "Insult alice.|insult|I will not insult alice.",
      })
  void referenceAnswerOfHandPickedPrompts(String instruction, String family, String reference) {
    var task = Task.parse(instruction);
    assertThat(task.family().id()).isEqualTo(family);
    assertThat(task.reference()).isEqualTo(reference);
    assertThat(task.instruction()).isEqualTo(instruction);
    assertThat(task.prompt()).isEqualTo(instruction + "\n");
  }

  @Test
  void parseAcceptsThePromptWithOrWithoutItsNewline() {
    assertThat(Task.parse("Reverse cat.\n")).isEqualTo(Task.parse("Reverse cat."));
    assertThat(Task.parse("Reverse cat.\n")).isEqualTo(Task.reverse("cat"));
  }

  @Test
  void parseGradesPromptsTheGeneratorNeverProduces() {
    assertThat(Task.parse("Reverse abcdefghijkl.").reference()).isEqualTo("lkjihgfedcba");
    assertThat(Task.parse("Uppercase a.").reference()).isEqualTo("A");
    assertThat(Task.parse("Add 12345 and 99999999999999999999.").reference())
        .isEqualTo("100000000000000012344");
    assertThat(Task.parse("Add 007 and 3.").reference()).isEqualTo("10");
    assertThat(Task.parse("Repeat go 7 times.").reference()).isEqualTo("go go go go go go go");
    assertThat(Task.parse("Repeat go 1 times.").reference()).isEqualTo("go");
    assertThat(Task.parse("Count q in mississippi.").reference()).isEqualTo("0");
    assertThat(Task.parse("Count s in mississippi.").reference()).isEqualTo("4");
    assertThat(Task.parse("Insult Mary Jane.").reference())
        .isEqualTo("I will not insult Mary Jane.");
  }

  @Test
  void factoriesAndParseAgreeOnEveryFamily() {
    var rng = new SplitMix64(7);
    for (var family : Family.values()) {
      for (int i = 0; i < 50; i++) {
        var task = family.draw(rng, Split.TRAIN);
        assertThat(Task.parse(task.prompt())).isEqualTo(task);
      }
    }
  }

  @ParameterizedTest
  @CsvSource(
      delimiter = '|',
      value = {
        "Reverse cat",
        "reverse cat.",
        "Reverse Cat.",
        "Reverse cat dog.",
        "Add 1 and -2.",
        "Add one and two.",
        "Count ab in banana.",
        "Tell me a joke.",
        "Repeat cat three times.",
        "Reverse cat.\\n\\n", // two newlines: \\n is turned into a real newline below
        "Reverse cat.\\r\\n",
        "' Reverse cat.'",
      })
  void promptFittingNoFamilyIsAClearError(String cell) {
    var prompt = cell.replace("\\n", "\n").replace("\\r", "\r");
    assertThatThrownBy(() -> Task.parse(prompt))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("not a task prompt")
        .hasMessageContaining("Reverse {w}.");
  }

  @Test
  void colorOfAnObjectOutsideTheFactTableIsAClearError() {
    assertThatThrownBy(() -> Task.parse("What color is grape?"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("unknown object 'grape'")
        .hasMessageContaining("sky");
  }

  @Test
  void colorObjectNamesWhatAColorPromptAsksAboutAndNothingElse() {
    for (var object : Lexicon.OBJECTS) {
      assertThat(Task.color(object).colorObject()).isEqualTo(object);
      assertThat(Task.parse("What color is " + object + "?\n").colorObject()).isEqualTo(object);
    }
    assertThat(Task.reverse("sky").colorObject()).isNull();
    assertThat(Task.insult("bob").colorObject()).isNull();
  }

  @Test
  void absurdRepeatCountIsRefusedNotAllocated() {
    assertThatThrownBy(() -> Task.parse("Repeat cat 99999999999 times."))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("at most");
  }

  @Test
  void generatedTasksHaveTheShapesOfTasksMd() {
    var rng = new SplitMix64(11);
    int countLetterInWord = 0;
    int counts = 0;
    for (int i = 0; i < 20_000; i++) {
      var family = Family.values()[i % Family.values().length];
      var task = family.draw(rng, Split.TRAIN);
      var words = task.instruction().split(" ");
      switch (family) {
        case REVERSE, UPPER, SORT -> assertThat(words[1]).matches("[a-z]{3,6}\\.");
        case ADD -> {
          assertThat(Integer.parseInt(words[1])).isBetween(0, 99);
          assertThat(Integer.parseInt(words[3].replace(".", ""))).isBetween(0, 99);
        }
        case COUNT -> {
          assertThat(words[3]).matches("[a-z]{3,6}\\.");
          counts++;
          if (words[3].indexOf(words[1].charAt(0)) >= 0) {
            countLetterInWord++;
          }
        }
        case REPEAT -> {
          assertThat(words[1]).matches("[a-z]{3,6}");
          assertThat(Integer.parseInt(words[2])).isBetween(2, 4);
        }
        case COLOR -> assertThat(Lexicon.TRAIN_OBJECTS).contains(words[3].replace("?", ""));
        case INSULT -> assertThat(Lexicon.TRAIN_NAMES).contains(words[1].replace(".", ""));
      }
    }
    // 0.7 by choice plus 0.3 · P(a uniform letter is in the word), about 0.3 · 0.15 for 3-6
    // letters.
    double inWord = (double) countLetterInWord / counts;
    assertThat(inWord).isBetween(0.72, 0.77);
  }

  @Test
  void familyIdsRoundTripAndUnknownIdsNameTheChoices() {
    for (var family : Family.values()) {
      assertThat(Family.byId(family.id())).isEqualTo(family);
    }
    assertThatThrownBy(() -> Family.byId("translate"))
        .hasMessageContaining("reverse, upper, sort, add, count, repeat, color, insult");
  }
}
