package io.streamrlhf.tasks;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class FewShotPromptTest {

  @Test
  void threeWorkedExamplesOfTheSameFamilyThenTheInstruction() {
    var target = Task.parse("What color is sky?");
    var prompt = FewShotPrompt.build(target, 1);
    var lines = prompt.split("\n", -1);
    assertThat(lines)
        .hasSize(8); // 3 × (instruction, answer), the instruction, and "" after its newline
    assertThat(prompt).endsWith("\nWhat color is sky?\n");
    for (int i = 0; i < 6; i += 2) {
      var shot = Task.parse(lines[i]);
      assertThat(shot.family()).isEqualTo(Family.COLOR);
      assertThat(lines[i + 1]).isEqualTo(shot.reference());
      assertThat(shot.instruction()).isNotEqualTo(target.instruction());
    }
    assertThat(java.util.Set.of(lines[0], lines[2], lines[4])).hasSize(3);
  }

  @Test
  void shotsAreReproducibleAndDifferAcrossSeeds() {
    var target = Task.parse("Reverse cat.");
    assertThat(FewShotPrompt.build(target, 3)).isEqualTo(FewShotPrompt.build(target, 3));
    assertThat(FewShotPrompt.build(target, 3)).isNotEqualTo(FewShotPrompt.build(target, 4));
  }
}
