package io.streamrlhf.learner.train;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.streamrlhf.learner.config.ConfigLoader;
import io.streamrlhf.learner.config.OptimizerConfig;
import io.streamrlhf.learner.config.PpoConfig;
import io.streamrlhf.learner.config.PretrainConfig;
import io.streamrlhf.learner.config.RewardConfig;
import io.streamrlhf.learner.config.SftConfig;
import io.streamrlhf.learner.ppo.GoldProxyCurve;
import io.streamrlhf.learner.ppo.PpoLoop;
import io.streamrlhf.learner.ppo.TrainingClock;
import io.streamrlhf.learner.pretrain.Pretraining;
import io.streamrlhf.learner.reward.RewardStage;
import io.streamrlhf.learner.sft.SupervisedFineTuning;
import io.streamrlhf.model.ByteTokenizer;
import io.streamrlhf.model.Gpt;
import io.streamrlhf.model.GptConfig;
import io.streamrlhf.model.WeightSnapshot;
import io.streamrlhf.model.checkpoint.Checkpoint;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A run killed at a step and resumed (fresh model, optimizer and RNG objects) ends where an
 * uninterrupted one does.
 */
class ResumeTest {
  static final GptConfig MINI = new GptConfig(ByteTokenizer.VOCAB_SIZE, 64, 16, 1, 2);
  static final PrintWriter QUIET = new PrintWriter(new StringWriter());

  @TempDir Path dir;

  static PretrainConfig pretrain() {
    // warm-up 2 of 6 steps and a cosine: the schedule position matters; weight decay on
    return new PretrainConfig(
        "tiny", 5, 6, 4, 16, new OptimizerConfig(1e-2, 1e-3, 2, 0.1, 0.9, 0.95, 0.5), 1, 3);
  }

  @Test
  void pretrainKilledAfterStepFourAndResumedEqualsUninterrupted() throws Exception {
    var straight = dir.resolve("straight");
    var killed = dir.resolve("killed");
    Pretraining.run(pretrain(), MINI, straight, false, QUIET, Long.MAX_VALUE);
    // checkpoint at step 3; step 4 is taken and lost, as when the process dies before step 6's
    // checkpoint
    Pretraining.run(pretrain(), MINI, killed, false, QUIET, 4);
    assertThat(Checkpoint.read(killed, "pretrain", TrainState.class).state().step()).isEqualTo(3);
    Pretraining.run(pretrain(), MINI, killed, true, QUIET, Long.MAX_VALUE);

    assertThat(Checkpoint.read(killed, "pretrain", TrainState.class).state().step()).isEqualTo(6);
    assertSameWeights(straight, killed);
    var a = Checkpoint.read(straight, "pretrain", TrainState.class);
    var b = Checkpoint.read(killed, "pretrain", TrainState.class);
    assertThat(b.state().dataPosition()).isEqualTo(a.state().dataPosition()).isEqualTo(24);
    assertThat(b.optimizer()).extracting(WeightSnapshot::version).containsExactly(6L, 6L);
    try (var entries = Files.list(straight)) {
      assertThat(entries.map(p -> p.getFileName().toString()))
          .as("step 6 is a checkpoint step: the end of the run does not write it again")
          .contains("step-000006")
          .noneMatch(name -> name.contains("again"));
    }
  }

  @Test
  void sftKilledAndResumedEqualsUninterrupted() throws Exception {
    var base = dir.resolve("base");
    Pretraining.run(pretrain(), MINI, base, false, QUIET, Long.MAX_VALUE);
    var sft =
        new SftConfig(2, 6, 4, 10, new OptimizerConfig(1e-2, 1e-3, 2, 0.1, 0.9, 0.95, 0.5), 1, 3);
    SupervisedFineTuning.run(sft, base, dir.resolve("straight"), false, QUIET);
    SupervisedFineTuning.run(sft, base, dir.resolve("killed"), false, QUIET, 5);
    SupervisedFineTuning.run(sft, base, dir.resolve("killed"), true, QUIET);
    assertSameWeights(dir.resolve("straight"), dir.resolve("killed"));

    // resuming the finished run (a demo run again) trains nothing and writes nothing
    SupervisedFineTuning.run(sft, base, dir.resolve("straight"), true, QUIET);
    try (var entries = Files.list(dir.resolve("straight"))) {
      assertThat(entries.map(p -> p.getFileName().toString())).noneMatch(n -> n.contains("again"));
    }
  }

  /**
   * A shape whose context holds a prompt and a whole 48-token response (reward and PPO sample
   * them).
   */
  static final GptConfig MINI_SAMPLER = new GptConfig(ByteTokenizer.VOCAB_SIZE, 96, 16, 1, 2);

  /** 12 training sets of K=3 in batches of 4 over 2 epochs: 6 steps, a checkpoint every 2. */
  static RewardConfig reward() {
    return ConfigLoader.load(
        RewardConfig.defaults(),
        null,
        List.of(
            "training_prompts=12",
            "held_out_prompts=4",
            "responses_per_prompt=3",
            "prompts_per_batch=4",
            "epochs=2",
            "learning_rate=1e-2",
            "warmup_steps=2",
            "weight_decay=0.1",
            "checkpoint_every_steps=2"));
  }

  @Test
  void rewardKilledAndResumedEqualsUninterrupted() throws Exception {
    var sft = dir.resolve("sft");
    Pretraining.run(pretrain(), MINI_SAMPLER, sft, false, QUIET, Long.MAX_VALUE);
    var straight = RewardStage.run(reward(), sft, dir.resolve("straight"), false, QUIET);
    // killed after step 5 (in epoch 2): the checkpoint of step 4 is in force
    assertThat(RewardStage.run(reward(), sft, dir.resolve("killed"), false, QUIET, 5)).isNull();
    assertThat(Checkpoint.read(dir.resolve("killed"), "reward", TrainState.class).state().step())
        .isEqualTo(4);
    var resumed = RewardStage.run(reward(), sft, dir.resolve("killed"), true, QUIET);

    assertSameWeights(dir.resolve("straight"), dir.resolve("killed"));
    assertThat(resumed).isEqualTo(straight);
    var state = Checkpoint.read(dir.resolve("killed"), "reward", TrainState.class).state();
    assertThat(state.step()).isEqualTo(6);
    assertThat(state.dataPosition()).isEqualTo(24); // 2 epochs of 12 sets
  }

  @Test
  void ppoKilledAndResumedEqualsUninterrupted() throws Exception {
    var sft = dir.resolve("sft");
    Pretraining.run(pretrain(), MINI_SAMPLER, sft, false, QUIET, Long.MAX_VALUE);
    var rm = dir.resolve("rm");
    RewardStage.run(reward(), sft, rm, false, QUIET);
    // PPO-ptx on and the adaptive KL controller on: their positions must survive the kill too
    var ppo =
        ConfigLoader.load(
            PpoConfig.defaults(),
            null,
            List.of(
                "updates=5",
                "prompts_per_batch=3",
                "responses_per_prompt=2",
                "tokens_per_minibatch=100",
                "epochs_per_batch=2",
                "learning_rate=1e-2",
                "warmup_steps=2",
                "ptx_coef=0.1",
                "ptx_tokens_per_minibatch=64",
                "kl_horizon=10",
                "eval_every_updates=2",
                "eval_prompts=2",
                "checkpoint_every_updates=2",
                "value_warmup_updates=1"));
    var straight = PpoLoop.inProcess(ppo, sft, rm, dir.resolve("straight"), false, QUIET);
    assertThat(PpoLoop.inProcess(ppo, sft, rm, dir.resolve("killed"), false, QUIET, 3)).isNull();
    assertThat(Checkpoint.read(dir.resolve("killed"), "ppo", TrainState.class).state().step())
        .isEqualTo(2);
    var resumed = PpoLoop.inProcess(ppo, sft, rm, dir.resolve("killed"), true, QUIET);

    assertSameWeights(dir.resolve("straight"), dir.resolve("killed"));
    assertThat(withoutSeconds(resumed)).isEqualTo(withoutSeconds(straight));
    var a = Checkpoint.read(dir.resolve("straight"), "ppo", TrainState.class);
    var b = Checkpoint.read(dir.resolve("killed"), "ppo", TrainState.class);
    // prompts drawn, sampling stream, beta, shuffling, ptx position; not the wall clock
    assertThat(withoutClock(b.state())).isEqualTo(withoutClock(a.state()));
    assertThat(b.state().dataPosition()).isEqualTo(15);
    // the curve keeps update 0 and 2 from before the kill and measures 4 and 5 again, once each,
    // its clock going on from the checkpoint's
    var killed = GoldProxyCurve.read(dir.resolve("killed").resolve(PpoLoop.CURVE_CSV));
    assertThat(killed.stream().map(ResumeTest::withoutSeconds).toList())
        .isEqualTo(
            GoldProxyCurve.read(dir.resolve("straight").resolve(PpoLoop.CURVE_CSV)).stream()
                .map(ResumeTest::withoutSeconds)
                .toList())
        .extracting(GoldProxyCurve.Point::update)
        .containsExactly(0L, 2L, 4L, 5L);
    assertThat(killed.get(0).seconds()).isZero();
    for (int i = 1; i < killed.size(); i++)
      assertThat(killed.get(i).seconds()).isGreaterThan(killed.get(i - 1).seconds());
  }

  private static GoldProxyCurve.Point withoutSeconds(GoldProxyCurve.Point p) {
    return new GoldProxyCurve.Point(p.update(), p.oracleScore(), p.rmScore(), p.kl(), 0);
  }

  private static TrainState withoutClock(TrainState s) {
    var extra = s.extra().deepCopy();
    assertThat(((ObjectNode) extra).remove(TrainingClock.KEY)).isNotNull();
    return new TrainState(s.stage(), s.step(), s.dataPosition(), s.rng(), s.scheduleStep(), extra);
  }

  @Test
  void aDifferentStepCountIsNotMistakenForEquality() throws Exception {
    // the comparison itself can fail: 5 steps are not 6
    Pretraining.run(pretrain(), MINI, dir.resolve("six"), false, QUIET, Long.MAX_VALUE);
    Pretraining.run(pretrain(), MINI, dir.resolve("five"), false, QUIET, 5);
    Pretraining.run(
        pretrain(), MINI, dir.resolve("five"), false, QUIET, 3); // overwrite: checkpoint at 3 only
    try (var six = Checkpoint.loadModel(dir.resolve("six"));
        var three = Checkpoint.loadModel(dir.resolve("five"))) {
      assertThat(maxDifference(six, three)).isGreaterThan(1e-4);
    }
  }

  static void assertSameWeights(Path a, Path b) throws Exception {
    try (var x = Checkpoint.loadModel(a);
        var y = Checkpoint.loadModel(b)) {
      assertThat(maxDifference(x, y)).isLessThanOrEqualTo(1e-6);
    }
  }

  static double maxDifference(Gpt x, Gpt y) {
    double max = 0;
    for (var entry : x.parameters().entrySet()) {
      var p = entry.getValue().toFloatArray();
      var q = y.parameters().get(entry.getKey()).toFloatArray();
      for (int i = 0; i < p.length; i++) max = Math.max(max, Math.abs(p[i] - q[i]));
    }
    return max;
  }
}
