package io.streamrlhf.learner.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamrlhf.model.checkpoint.Json;
import io.streamrlhf.tasks.SplitMix64;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TrainStateTest {
  @TempDir Path dir;

  @Test
  void splitMixStreamIsSplittableRandomsStream() {
    // Independent implementation: the JDK's SplittableRandom(seed) runs the same SplitMix64 stream.
    var ours = new SplitMix64(42);
    var jdk = new SplittableRandom(42);
    for (int i = 0; i < 1000; i++) assertThat(ours.nextLong()).isEqualTo(jdk.nextLong());
  }

  @Test
  void restoredGeneratorContinuesTheStreamExactly() {
    var uninterrupted = new SplitMix64(7);
    var interrupted = new SplitMix64(7);
    for (int i = 0; i < 37; i++) {
      uninterrupted.nextGaussian();
      interrupted.nextGaussian();
      uninterrupted.nextInt(5);
      interrupted.nextInt(5);
    }
    var resumed = SplitMix64.restore(interrupted.state());
    for (int i = 0; i < 200; i++) {
      assertThat(resumed.nextDouble()).isEqualTo(uninterrupted.nextDouble());
      assertThat(resumed.nextInt(3)).isEqualTo(uninterrupted.nextInt(3));
      assertThat(resumed.nextGaussian()).isEqualTo(uninterrupted.nextGaussian());
    }
  }

  @Test
  void trainStateRoundTripsThroughJsonAndResumesTheRng() throws Exception {
    var rng = new SplitMix64(11);
    for (int i = 0; i < 5; i++) rng.nextLong();
    var extra = TrainState.start("ppo", 11).extraCopy();
    extra.put("kl_beta", 0.0213);
    extra.putObject("offsets").put("rlhf.rollouts-0", 1234L);
    var state = TrainState.start("ppo", 11).advance(40, 1280, rng, 40, extra);
    state.write(dir);

    var json = Files.readString(dir.resolve(TrainState.FILE_NAME));
    assertThat(json).contains("\"data_position\" : 1280").contains("\"draws\" : 5");
    var read = TrainState.read(dir, "ppo");
    assertThat(read.stage()).isEqualTo("ppo");
    assertThat(read.step()).isEqualTo(40);
    assertThat(read.scheduleStep()).isEqualTo(40);
    assertThat(read.rng()).isEqualTo(new SplitMix64.RngState(11, 5));
    assertThat(Json.write(read)).isEqualTo(Json.write(state));
    assertThat(read.extra().get("offsets").get("rlhf.rollouts-0").asLong()).isEqualTo(1234L);
    assertThat(read.extra().get("kl_beta").asDouble()).isEqualTo(0.0213);
    assertThat(SplitMix64.restore(read.rng()).nextLong()).isEqualTo(rng.nextLong());
    assertThat(Files.list(dir))
        .containsExactly(dir.resolve(TrainState.FILE_NAME)); // no temp file left

    assertThatThrownBy(() -> TrainState.read(dir, "sft"))
        .hasMessageContaining("belongs to stage 'ppo'");
  }
}
