package io.streamrlhf.learner.ppo;

import io.streamrlhf.learner.config.PpoConfig;
import io.streamrlhf.model.checkpoint.Checkpoint;
import io.streamrlhf.model.checkpoint.Json;
import io.streamrlhf.tasks.SplitMix64;
import io.streamrlhf.learner.train.TrainState;
import io.streamrlhf.model.ByteTokenizer;
import io.streamrlhf.model.Gpt;
import io.streamrlhf.model.RewardModel;
import io.streamrlhf.tasks.Completion;
import io.streamrlhf.tasks.EvalSet;
import io.streamrlhf.tasks.Oracle;
import io.streamrlhf.tasks.Task;
import io.streamrlhf.tasks.TrainingPrompts;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The PPO stage (InstructGPT step 3) in one process: the {@link RolloutSampler} and the {@link
 * PpoLearner} share the policy's weights, so every rollout is on-policy (behaviour = proximal).
 * Per update: draw training prompts, sample rollouts, update; every {@code eval_every_updates} the
 * gold-vs-proxy evaluation on a fixed held-out subset, appended to {@code gold-proxy.csv} and
 * plotted to {@code gold-proxy.png}. Writes the policy as a checkpoint in the output directory.
 *
 * <p>The policy starts from the SFT weights with its scalar (value) head zeroed: SFT trains only the
 * logits, so the head it carries is untrained initial noise, and the reward model's head reads a
 * trunk that reward training moved away from the policy's. With V ≡ 0 at the start the first
 * advantages are the plain returns, and the value head learns its scale from the returns.
 */
public final class PpoStage {
  public static final String CURVE_CSV = "gold-proxy.csv";
  public static final String CURVE_PNG = "gold-proxy.png";

  private PpoStage() {}

  /** Extras key of the learner's {@link PpoLearner.ResumeState} in the checkpoint's train state. */
  static final String LEARNER_STATE = "learner";

  public static GoldProxyCurve.Point run(PpoConfig config, Path sftDir, Path rmDir, Path outDir, boolean resume,
      PrintWriter out) throws IOException {
    return run(config, sftDir, rmDir, outDir, resume, out, Long.MAX_VALUE);
  }

  /**
   * The same with a halt after update {@code haltAfterUpdate} that writes no final checkpoint —
   * what a kill at that update leaves behind (for resume tests); returns null then.
   *
   * <p>A checkpoint holds the policy (value head included), AdamW's moments, the sampling stream
   * (RNG), the prompts drawn so far (data position), the learner's β, shuffling stream and PPO-ptx
   * position, so a resumed run samples and updates exactly as an uninterrupted one would.
   */
  public static GoldProxyCurve.Point run(PpoConfig config, Path sftDir, Path rmDir, Path outDir, boolean resume,
      PrintWriter out, long haltAfterUpdate) throws IOException {
    long started = System.nanoTime();
    var source = RewardSource.of(config.reward(), rmDir);
    try (var policy = Checkpoint.loadModel(sftDir);
        var reference = Checkpoint.loadModel(sftDir);
        var rewardModel = source.load(reference)) {
      if (rewardModel instanceof RewardModel rm && policy.config().vocabSize() != rm.model().config().vocabSize()) {
        throw new IllegalArgumentException("the SFT model " + sftDir + " and reward model " + rmDir
            + " do not share a vocabulary");
      }
      var rmStats = source.normalisation(reference);
      out.printf("ppo: reward from %s, normalised with mean %.4f, std %.4f (on SFT samples)%n", source.describe(),
          rmStats.mean(), rmStats.std());
      out.flush();
      var saved = resume ? Checkpoint.read(outDir, config.stageName(), TrainState.class) : null;
      if (saved != null) {
        if (!saved.modelConfig().equals(policy.config())) {
          throw new IllegalArgumentException("the PPO checkpoint in " + outDir + " has another shape than " + sftDir);
        }
        policy.load(saved.weights());
      } else {
        policy.zeroScalarHead();
      }
      var sampler = new RolloutSampler(policy, reference, rewardModel, Completion.MAX_NEW_TOKENS,
          config.samplingTemperature());
      // TASKS.md evaluates at temperature 1
      var evalSampler = new RolloutSampler(policy, reference, rewardModel, Completion.MAX_NEW_TOKENS, 1.0);
      var evalTasks = evalSubset(config.evalPrompts());
      var prompts = new TrainingPrompts(config.seed());
      var rng = new SplitMix64(config.seed());
      var schedule = config.learningRateSchedule(config.updates());
      try (var learner = new PpoLearner(policy, config, rmStats)) {
        GoldProxyCurve curve;
        GoldProxyCurve.Point last;
        long promptsDrawn;
        if (saved != null) {
          var state = saved.state();
          learner.restore(Json.MAPPER.treeToValue(state.extra().get(LEARNER_STATE), PpoLearner.ResumeState.class),
              saved.optimizer());
          rng = SplitMix64.restore(state.rng());
          promptsDrawn = state.dataPosition();
          for (long i = 0; i < promptsDrawn; i++) prompts.next(); // the prompt stream is a function of its seed
          curve = GoldProxyCurve.resume(outDir.resolve(CURVE_CSV), learner.updates());
          var points = curve.points();
          last = points.isEmpty() ? null : points.get(points.size() - 1);
          out.printf("ppo: resuming at update %d of %d (beta %.4f)%n", learner.updates(), config.updates(),
              learner.beta());
        } else {
          promptsDrawn = 0;
          curve = GoldProxyCurve.create(outDir.resolve(CURVE_CSV));
          last = evaluate(evalSampler, evalTasks, rmStats, config.seed(), 0, curve, outDir, out, started);
        }
        while (learner.updates() < config.updates()) {
          int update = Math.toIntExact(learner.updates());
          var batchPrompts = new ArrayList<int[]>(config.promptsPerBatch());
          for (int i = 0; i < config.promptsPerBatch(); i++) {
            batchPrompts.add(ByteTokenizer.encode(prompts.next().prompt()));
          }
          promptsDrawn += config.promptsPerBatch();
          var batch = sampler.sample(batchPrompts, config.responsesPerPrompt(), rng.nextLong(), learner.updates());
          var stats = learner.update(batch, schedule.at(update));
          if (stats.update() % config.logEveryUpdates() == 0 || stats.update() == config.updates()) {
            out.printf("ppo: update %d/%d  rm %.3f (normalised %+.3f)  kl %.3f  beta %.4f  clip %.3f  approx_kl %.4f  "
                    + "value_loss %.4f  entropy %.3f  ptx %.3f  |g| %.2f  len %.1f  %.0f s%n",
                stats.update(), config.updates(), stats.meanRmScore(), stats.meanNormalisedScore(), stats.meanKl(),
                stats.beta(), stats.clipFraction(), stats.approxKl(), stats.valueLoss(), stats.entropy(),
                stats.pretrainingLoss(), stats.gradNorm(), stats.meanResponseTokens(), seconds(started));
            out.flush();
          }
          if (stats.skippedMinibatches() > 0) {
            out.printf("ppo: update %d skipped %d minibatch(es) whose gradient was not finite (no step taken)%n",
                stats.update(), stats.skippedMinibatches());
          }
          if (stats.update() % config.evalEveryUpdates() == 0 || stats.update() == config.updates()) {
            last = evaluate(evalSampler, evalTasks, rmStats, config.seed(), stats.update(), curve, outDir, out,
                started);
          }
          if (stats.update() % config.checkpointEveryUpdates() == 0 || stats.update() == config.updates()) {
            var extra = Json.MAPPER.createObjectNode();
            extra.set(LEARNER_STATE, Json.MAPPER.valueToTree(learner.resumeState()));
            var state = new TrainState(config.stageName(), stats.update(), promptsDrawn, rng.state(),
                stats.update(), extra);
            Checkpoint.write(outDir, policy.config(), policy.snapshot(stats.update()), learner.optimizerState(), state);
          }
          if (stats.update() == haltAfterUpdate) return null;
        }
        out.printf("ppo: wrote %s (policy checkpoint, %s, %s) in %.0f s%n", outDir, CURVE_CSV, CURVE_PNG,
            seconds(started));
        out.flush();
        return last;
      }
    }
  }

  /**
   * {@code n} held-out tasks spread evenly over the evaluation set (which lists its families in
   * blocks), so every family is represented; the same subset at every evaluation.
   */
  public static List<Task> evalSubset(int n) {
    var all = EvalSet.tasks();
    int count = Math.min(n, all.size());
    var subset = new ArrayList<Task>(count);
    for (int i = 0; i < count; i++) subset.add(all.get((int) ((long) i * all.size() / count)));
    return subset;
  }

  /**
   * One gold-vs-proxy point: one temperature-1 sample per held-out task (a fixed sampling seed, so
   * only the weights change between points), graded by the oracle (gold), scored by the reward
   * model (proxy, normalised as PPO sees it), and its KL to the SFT model per response.
   */
  static GoldProxyCurve.Point evaluate(RolloutSampler sampler, List<Task> tasks, RewardSource.Normalisation rmStats,
      long seed,
      long update, GoldProxyCurve curve, Path outDir, PrintWriter out, long started) throws IOException {
    var prompts = tasks.stream().map(t -> ByteTokenizer.encode(t.prompt())).toList();
    var batch = sampler.sample(prompts, 1, seed ^ 0xe7a1L, update);
    double gold = 0;
    double proxy = 0;
    double kl = 0;
    for (int i = 0; i < tasks.size(); i++) {
      var rollout = batch.rollouts().get(i);
      gold += Oracle.grade(tasks.get(i), ByteTokenizer.decode(rollout.response()), rollout.terminated()).score();
      proxy += Ppo.normalisedScore(rollout.rmScore(), rmStats.mean(), rmStats.std());
      kl += Ppo.responseKl(rollout.behaviourLogProbs(), rollout.refLogProbs());
    }
    int n = tasks.size();
    var point = new GoldProxyCurve.Point(update, gold / n, proxy / n, kl / n);
    curve.add(point);
    curve.plot(outDir.resolve(CURVE_PNG));
    out.printf("ppo: eval at update %d on %d held-out prompts: oracle %.3f  rm (normalised) %+.3f  kl %.3f  %.0f s%n",
        update, n, point.oracleScore(), point.rmScore(), point.kl(), seconds(started));
    out.flush();
    return point;
  }

  private static double seconds(long startedNanos) {
    return (System.nanoTime() - startedNanos) / 1e9;
  }
}
