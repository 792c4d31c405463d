package io.streamrlhf.infra.stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.streamrlhf.infra.affinity.CpuSet;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code rlhf actor --cpus}: every thread of the process stays on the set, as Linux reports. */
class PinnedProcessTest {
  @TempDir Path dir;

  @Test
  void everyThreadOfAPinnedActorRunsOnlyOnItsCpuSetOnceItsEngineRuns() throws Exception {
    var allowed = CpuSet.allowed();
    assumeTrue(allowed.size() > 1, "pinning shows only where more than one CPU is allowed");
    // the last allowed CPU: a set the process would not have by default
    var one = CpuSet.parse(Integer.toString(allowed.cpus().length() - 1));
    var models = TinyRun.checkpoints(dir);
    var bootstrap = LoopBroker.fresh();
    var watch = new Watch();
    var actor =
        watch.rlhf(
            List.of(
                "actor",
                "--cpus",
                one.toString(),
                "--bootstrap",
                bootstrap,
                "--sft",
                models.resolve("sft").toString(),
                "--reward",
                "oracle",
                "--id",
                "pinned"));
    try {
      // printed once its models are loaded: DJL's engine and its native threads are up
      watch.await("pinned: rollout actor started", Duration.ofMinutes(2));
      var threads = CpuSet.threadsOf(actor.pid());
      assertThat(threads).hasSizeGreaterThan(10); // the JVM's, Vert.x's, Kafka's, PyTorch's
      assertThat(threads).allSatisfy(t -> assertThat(t).isEqualTo(one));
    } finally {
      // SIGTERM: the actor leaves its consumer group now, so the next test's broker reset finds
      // it empty (a SIGKILLed member stays until its session times out)
      actor.destroy();
      if (!actor.waitFor(30, TimeUnit.SECONDS)) actor.destroyForcibly().waitFor();
    }
  }
}
