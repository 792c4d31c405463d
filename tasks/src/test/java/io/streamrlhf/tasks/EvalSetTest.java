package io.streamrlhf.tasks;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.StringWriter;
import java.util.HashSet;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

class EvalSetTest {

  /** The eval set exactly as `rlhf tasks eval-set` writes it. */
  private static String evalJsonl() {
    return EvalSet.tasks().stream()
        .map(t -> Jsonl.taskLine(t) + "\n")
        .collect(Collectors.joining());
  }

  @Test
  void evalSetHasFiftyPromptsPerFamilyInTableOrder() {
    var tasks = EvalSet.tasks();
    assertThat(tasks).hasSize(400);
    var perFamily =
        tasks.stream().collect(Collectors.groupingBy(Task::family, Collectors.counting()));
    for (var family : Family.values()) {
      assertThat(perFamily.get(family)).as(family.id()).isEqualTo(50L);
      assertThat(tasks.get(family.ordinal() * 50).family()).isEqualTo(family);
    }
  }

  @Test
  void evalSetAsksOnlyAboutEvaluationObjectsAndNames() {
    var objects = new HashSet<String>();
    var names = new HashSet<String>();
    for (var task : EvalSet.tasks()) {
      if (task.family() == Family.COLOR) {
        objects.add(task.instruction().replaceAll("What color is (.*)\\?", "$1"));
      }
      if (task.family() == Family.INSULT) {
        names.add(task.instruction().replaceAll("Insult (.*)\\.", "$1"));
      }
    }
    assertThat(Lexicon.EVAL_OBJECTS).containsAll(objects);
    assertThat(Lexicon.EVAL_NAMES).containsAll(names);
  }

  @Test
  void evalPromptsOfTheOpenFamiliesAreDistinct() {
    for (var family : Family.values()) {
      if (family == Family.COLOR || family == Family.INSULT) {
        continue;
      }
      var instructions =
          EvalSet.tasks().stream()
              .filter(t -> t.family() == family)
              .map(Task::instruction)
              .toList();
      assertThat(instructions).as(family.id()).doesNotHaveDuplicates();
    }
  }

  @Test
  void evalSetBytesArePinned() {
    // Computed once from EvalSet.SEED; a change here changes every published eval number.
    assertThat(Sha256.of(evalJsonl()))
        .isEqualTo("14039491cf5510d2b0f9d5028ecb5a3671ee51da1a53867d75a55ffa0402e7be");
    assertThat(evalJsonl()).startsWith("{\"prompt\":\"Reverse ");
    assertThat(EvalSet.generate()).isEqualTo(EvalSet.generate()).isEqualTo(EvalSet.tasks());
  }

  @Test
  void containsAcceptsThePromptWithOrWithoutNewline() {
    var first = EvalSet.tasks().get(0);
    assertThat(EvalSet.contains(first.prompt())).isTrue();
    assertThat(EvalSet.contains(first.instruction())).isTrue();
    assertThat(EvalSet.contains("Reverse zzzzzzzzzzzz.")).isFalse();
  }

  @Test
  void everyTrainingSourceIsDisjointFromTheEvalSet() {
    var checked = 0;
    Function<Task, Task> check =
        task -> {
          assertThat(EvalSet.contains(task.instruction())).as(task.instruction()).isFalse();
          if (task.family() == Family.COLOR) {
            assertThat(Lexicon.TRAIN_OBJECTS)
                .contains(task.instruction().replaceAll("What color is (.*)\\?", "$1"));
          }
          if (task.family() == Family.INSULT) {
            assertThat(Lexicon.TRAIN_NAMES)
                .contains(task.instruction().replaceAll("Insult (.*)\\.", "$1"));
          }
          return task;
        };
    // PPO prompts and label requests.
    var prompts = new TrainingPrompts(1);
    for (int i = 0; i < 20_000; i++) {
      check.apply(prompts.next());
      checked++;
    }
    // Demonstrations.
    for (var demo : Demonstrations.pool(2, 20_000)) {
      check.apply(demo.task());
      checked++;
    }
    // The corpus: every line that is an instruction (instruction lists, worked examples).
    for (var doc : Corpus.documents(3, 10_000)) {
      if (doc.kind() == Corpus.Kind.INSTRUCTION_LIST || doc.kind() == Corpus.Kind.WORKED_EXAMPLES) {
        for (int i = 0;
            i < doc.lines().size();
            i += doc.kind() == Corpus.Kind.INSTRUCTION_LIST ? 1 : 2) {
          check.apply(Task.parse(doc.lines().get(i)));
          checked++;
        }
      }
    }
    // The shots of few-shot prompts, for every held-out prompt.
    for (var target : EvalSet.tasks()) {
      var lines = FewShotPrompt.build(target, 4).split("\n");
      for (int i = 0; i < 2 * FewShotPrompt.SHOTS; i += 2) {
        check.apply(Task.parse(lines[i]));
        checked++;
      }
    }
    assertThat(checked).isGreaterThan(60_000);
  }

  @Test
  void aDrawAgainstTheEvalSetWouldCollideWithoutTheDropRule() {
    // The disjointness above is the drop rule at work, not luck: undropped draws do hit it.
    var rng = new SplitMix64(5);
    int hits = 0;
    for (int i = 0; i < 20_000; i++) {
      if (EvalSet.contains(Family.ADD.draw(rng, Split.TRAIN).instruction())) {
        hits++;
      }
    }
    assertThat(hits).isGreaterThan(20); // 50 of 10,000 add prompts are held out: about 100 hits
  }

  @Test
  void jsonlLinesCarryPromptFamilyAndReference() throws Exception {
    var line = Jsonl.taskLine(Task.parse("Count a in banana."));
    assertThat(line)
        .isEqualTo(
            "{\"prompt\":\"Count a in banana.\\n\",\"family\":\"count\",\"reference\":\"3\"}");
    var out = new StringWriter();
    out.write(
        Jsonl.demonstrationLine(
            new Demonstration(
                Task.parse("Reverse cat."), Demonstration.Kind.CHATTER, "Sure! tac")));
    assertThat(out.toString())
        .isEqualTo(
            "{\"prompt\":\"Reverse cat.\\n\",\"family\":\"reverse\",\"reference\":\"tac\","
                + "\"response\":\"Sure! tac\",\"terminated\":true,\"kind\":\"chatter\"}");
  }
}
