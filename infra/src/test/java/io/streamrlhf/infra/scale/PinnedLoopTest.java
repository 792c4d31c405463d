package io.streamrlhf.infra.scale;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The command lines of the validation's children, without starting them: every one pins itself with
 * its own {@code --cpus} (the broker and the actors on the actors' CPUs, the learner on its own)
 * and its JVM counts as many processors as that list names.
 */
class PinnedLoopTest {
  private final Path run = Path.of("/runs/one");
  private final PinnedLoop loop =
      new PinnedLoop(
          run, Path.of("/models"), Path.of("/runs/one/config/ppo.json"), 2, 0, "1", "0,2-3");

  @Test
  void eachChildPinsItselfToItsCpuList() {
    var broker = loop.broker();
    var actor = loop.actor("127.0.0.1:9999", 1);
    var learner = loop.learner("127.0.0.1:9999");

    assertThat(broker.command())
        .containsExactly(
            "broker",
            "--port",
            "0",
            "--data-dir",
            run.resolve("broker").toString(),
            "--cpus",
            "0,2-3");
    assertThat(actor.source()).isEqualTo("actor-1");
    assertThat(actor.command())
        .startsWith("actor", "--bootstrap", "127.0.0.1:9999")
        .containsSubsequence("--sft", "/models/sft")
        .containsSubsequence("--rm", "/models/rm")
        .containsSubsequence("--config", "/runs/one/config/ppo.json")
        .containsSubsequence("--id", "actor-1")
        .endsWith("--cpus", "0,2-3");
    assertThat(learner.command())
        .startsWith("learner", "--bootstrap", "127.0.0.1:9999")
        .containsSubsequence("--out", run.resolve("learner").toString())
        .endsWith("--cpus", "1");
    for (var child : List.of(broker, actor, learner))
      assertThat(child.command()).as(child.source()).containsOnlyOnce("--cpus");
    assertThat(actor.command()).doesNotContain("--set");
  }

  @Test
  void smallBatchActorsCapTheirBatchOnTheirOwnCommandLine() {
    var small =
        new PinnedLoop(
            run, Path.of("/models"), Path.of("/runs/one/config/ppo.json"), 1, 2, "1", "0");
    assertThat(small.actor("b:1", 0).command())
        .containsSubsequence("--set", "prompts_per_batch=2")
        .endsWith("--cpus", "0");
    assertThat(small.learner("b:1").command()).doesNotContain("--set");
  }

  @Test
  void eachJvmCountsTheProcessorsOfItsList() {
    assertThat(loop.broker().jvmFlags()).containsExactly("-XX:ActiveProcessorCount=3");
    assertThat(loop.actor("b:1", 0).jvmFlags()).containsExactly("-XX:ActiveProcessorCount=3");
    assertThat(loop.learner("b:1").jvmFlags()).containsExactly("-XX:ActiveProcessorCount=1");
  }
}
