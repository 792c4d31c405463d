package io.streamrlhf.infra.stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.streamrlhf.learner.config.ConfigLoader;
import io.streamrlhf.learner.config.PpoConfig;
import io.streamrlhf.learner.ppo.GoldProxyCurve;
import io.streamrlhf.learner.ppo.PpoLoop;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The streaming learner records the gold-vs-proxy curve as the in-process stage does, with the
 * training clock's seconds, also when PPO trains on the gold reward itself (random tiny models: no
 * reward model is needed).
 */
class GoldProxyOnKafkaTest {

  @Test
  void theLearnerEvaluatesEveryNUpdatesOnTheGoldReward(@TempDir Path dir) throws Exception {
    TinyRun.checkpoints(dir);
    var config =
        ConfigLoader.with(
            TinyRun.config(5, 1),
            "reward=" + PpoConfig.REWARD_ORACLE,
            "eval_every_updates=2",
            "eval_prompts=2");
    var log = new Watch();
    var out = dir.resolve("ppo");
    LocalLoop.run(config, 1, LoopBroker.fresh(), dir.resolve("sft"), null, out, log.writer());

    var csv = out.resolve(PpoLoop.CURVE_CSV);
    assertThat(Files.readAllLines(csv).get(0)).isEqualTo("update,oracle_score,rm_score,kl,seconds");
    var curve = GoldProxyCurve.read(csv);
    // every eval_every_updates and at the last update
    assertThat(curve).extracting(GoldProxyCurve.Point::update).containsExactly(0L, 2L, 4L, 5L);
    assertThat(config.derivedSizes()).containsEntry("gold_proxy_evaluations", (long) curve.size());
    assertThat(log.has("learner: eval at update 4 on 2 held-out prompts")).isTrue();
    // the first row is the SFT policy itself, before the clock starts
    assertThat(curve.get(0).seconds()).isZero();
    assertThat(curve.get(0).kl()).isCloseTo(0, within(1e-4));
    for (int i = 1; i < curve.size(); i++) {
      assertThat(curve.get(i).seconds()).isGreaterThan(curve.get(i - 1).seconds());
    }
    for (var point : curve) {
      assertThat(point.oracleScore()).isFinite();
      assertThat(point.rmScore()).isFinite();
    }
    assertThat(out.resolve(PpoLoop.CURVE_PNG)).isNotEmptyFile();
  }
}
