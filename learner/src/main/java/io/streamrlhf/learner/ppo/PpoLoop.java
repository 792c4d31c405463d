package io.streamrlhf.learner.ppo;

import com.fasterxml.jackson.databind.JsonNode;
import io.streamrlhf.learner.config.PpoConfig;
import io.streamrlhf.learner.train.InputError;
import io.streamrlhf.learner.train.TrainState;
import io.streamrlhf.model.AdamW;
import io.streamrlhf.model.ByteTokenizer;
import io.streamrlhf.model.Gpt;
import io.streamrlhf.model.RewardFunction;
import io.streamrlhf.model.RewardModel;
import io.streamrlhf.model.checkpoint.Checkpoint;
import io.streamrlhf.model.checkpoint.Json;
import io.streamrlhf.tasks.Completion;
import io.streamrlhf.tasks.EvalSet;
import io.streamrlhf.tasks.Oracle;
import io.streamrlhf.tasks.Task;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * The PPO stage (InstructGPT step 3): one loop over {@link PpoLearner}, whatever the rollouts'
 * source. Per update: take a batch from the {@link RolloutSource}, update, log; every {@code
 * eval_every_updates} the gold-vs-proxy evaluation on a fixed held-out subset (in process and on
 * Kafka alike: the learner evaluates its own weights), appended to {@code gold-proxy.csv} with the
 * {@link TrainingClock}'s seconds and plotted to {@code gold-proxy.png}; checkpoint (every update
 * where the source publishes weights), then hand the checkpointed weights to the source.
 *
 * <p>One resume record for every source: the checkpoint's train state holds the learner's {@link
 * PpoLearner.ResumeState} under {@value #LEARNER_STATE}, the source's data position and random
 * stream, and the source's own state under {@value #SOURCE_STATE}; with the policy (value head
 * included) and AdamW's moments, a resumed run takes the very steps an uninterrupted one would.
 *
 * <p>The policy starts from the SFT weights with its scalar (value) head zeroed: SFT trains only
 * the logits, so the head it carries is untrained initial noise, and the reward model's head reads
 * a trunk that reward training moved away from the policy's. With V ≡ 0 at the start the first
 * advantages are the plain returns, and the value head learns its scale from the returns.
 */
public final class PpoLoop {
  public static final String CURVE_CSV = "gold-proxy.csv";

  /** Updates in a row with a minibatch whose gradient was not finite: the run has diverged. */
  static final int DIVERGED_AFTER = 3;

  public static final String CURVE_PNG = "gold-proxy.png";

  /** Train-state extras: the learner's resume state and the source's. */
  static final String LEARNER_STATE = "learner";

  public static final String SOURCE_STATE = "source";

  private PpoLoop() {}

  /**
   * What the loop loads and a source may use: the policy it trains, the frozen SFT reference, the
   * reward the config names and its normalisation on SFT samples.
   */
  public record Models(
      Gpt policy, Gpt reference, RewardFunction reward, RewardSource.Normalisation normalisation) {}

  /** In process: sampling shares the policy's weights. Returns the last gold-vs-proxy point. */
  public static GoldProxyCurve.Point inProcess(
      PpoConfig config, Path sftDir, Path rmDir, Path outDir, boolean resume, PrintWriter out)
      throws IOException {
    return inProcess(config, sftDir, rmDir, outDir, resume, out, Long.MAX_VALUE);
  }

  /**
   * The same with a halt after update {@code haltAfterUpdate} that writes no final checkpoint —
   * what a kill at that update leaves behind (for resume tests); returns null then.
   */
  public static GoldProxyCurve.Point inProcess(
      PpoConfig config,
      Path sftDir,
      Path rmDir,
      Path outDir,
      boolean resume,
      PrintWriter out,
      long haltAfterUpdate)
      throws IOException {
    return run(
        config,
        sftDir,
        rmDir,
        outDir,
        resume,
        out,
        models -> new SampledRollouts(config, models),
        haltAfterUpdate);
  }

  /**
   * Runs (or, with {@code resume}, continues) {@code config.updates()} updates over the source
   * {@code sources} opens on the loaded models; returns the last gold-vs-proxy point, or null where
   * the source has no curve or the run halted.
   */
  public static GoldProxyCurve.Point run(
      PpoConfig config,
      Path sftDir,
      Path rmDir,
      Path outDir,
      boolean resume,
      PrintWriter out,
      Function<Models, RolloutSource> sources,
      long haltAfterUpdate)
      throws IOException {
    long started = System.nanoTime();
    var reward = RewardSource.of(config.reward(), rmDir);
    var fallback = resume ? Checkpoint.inForce(outDir).fallback() : null;
    var saved = resume ? Checkpoint.read(outDir, config.stageName(), TrainState.class) : null;
    if (saved != null) checkIdentity(config, outDir, saved.state().extra());
    try (var policy = resume ? Gpt.create(saved.modelConfig(), 0) : Checkpoint.loadModel(sftDir);
        var reference = Checkpoint.loadModel(sftDir);
        var rewardFunction = reward.load(reference)) {
      if (!reference.config().equals(policy.config())) {
        throw new InputError(
            "the PPO checkpoint in " + outDir + " has another shape than " + sftDir);
      }
      if (rewardFunction instanceof RewardModel rm
          && policy.config().vocabSize() != rm.model().config().vocabSize()) {
        throw new InputError(
            "the SFT model "
                + sftDir
                + " and reward model "
                + rmDir
                + " do not share a vocabulary");
      }
      var normalisation = reward.normalisation(reference);
      if (saved != null) {
        policy.load(saved.weights());
      } else {
        policy.zeroScalarHead();
      }
      var models = new Models(policy, reference, rewardFunction, normalisation);
      try (var source = sources.apply(models);
          var learner = new PpoLearner(policy, config, normalisation)) {
        var name = source.name();
        if (fallback != null) out.printf("%s: warning: %s%n", name, fallback);
        out.printf(
            "%s: reward from %s, normalised with mean %.4f, std %.4f (on SFT samples)%n",
            name, reward.describe(), normalisation.mean(), normalisation.std());
        if (saved != null) {
          learner.restore(
              Json.MAPPER.treeToValue(
                  saved.state().extra().get(LEARNER_STATE), PpoLearner.ResumeState.class),
              saved.optimizer());
        }
        var opened = source.open(saved);
        out.printf(
            "%s: %s; %s at policy v%d of %d (beta %.4f)%n",
            name,
            opened,
            saved != null ? "resuming" : "starting",
            learner.updates(),
            config.updates(),
            learner.beta());
        out.flush();
        GoldProxyCurve curve = null;
        GoldProxyCurve.Point last = null;
        // TASKS.md evaluates at temperature 1; a live reward has no model in the learner to score
        // the proxy with
        var evalSampler =
            rewardFunction != null
                ? new RolloutSampler(
                    policy, reference, rewardFunction, Completion.MAX_NEW_TOKENS, 1.0)
                : null;
        if (evalSampler == null) {
          out.printf(
              "%s: no gold-vs-proxy curve: the learner holds no reward model to score the proxy"
                  + " with (--reward live)%n",
              name);
        }
        var evalTasks = evalSubset(config.evalPrompts());
        if (evalSampler != null && saved != null) {
          curve = GoldProxyCurve.resume(outDir.resolve(CURVE_CSV), learner.updates());
          var points = curve.points();
          last = points.isEmpty() ? null : points.get(points.size() - 1);
        } else if (evalSampler != null) {
          // before the first publish: the training clock starts with the actors' first batch
          curve = GoldProxyCurve.create(outDir.resolve(CURVE_CSV));
          last =
              evaluate(
                  evalSampler,
                  evalTasks,
                  normalisation,
                  config.seed(),
                  0,
                  0,
                  curve,
                  outDir,
                  out,
                  name,
                  started);
        }
        double resumedSeconds = saved != null ? TrainingClock.saved(saved.state().extra()) : 0;
        if (saved != null) {
          source.checkpointed(saved.weights());
        } else if (source.checkpointsEveryUpdate()) {
          source.checkpointed(checkpoint(config, policy, learner, source, outDir, 0));
        }
        var clock = TrainingClock.startAt(resumedSeconds);
        var schedule = config.optimizer().schedule(config.updates());
        int skippingInARow = 0;
        while (learner.updates() < config.updates()) {
          var batch = source.next(learner.updates());
          var stats = learner.update(batch, schedule.at(learner.updates()));
          double updated = clock.seconds();
          long update = stats.update();
          boolean lastUpdate = update == config.updates();
          if (update % config.logEveryUpdates() == 0 || lastUpdate) {
            out.printf(
                "%s: update %d/%d  rm %.3f (normalised %+.3f)  kl %.3f  beta %.4f  clip %.3f  approx_kl %.4f  "
                    + "importance weight %.3f  value_loss %.4f  entropy %.3f  ptx %.3f  |g| %.2f  len %.1f  %.0f s%n",
                name,
                update,
                config.updates(),
                stats.meanRmScore(),
                stats.meanNormalisedScore(),
                stats.meanKl(),
                stats.beta(),
                stats.clipFraction(),
                stats.approxKl(),
                stats.meanImportanceWeight(),
                stats.valueLoss(),
                stats.entropy(),
                stats.pretrainingLoss(),
                stats.gradNorm(),
                stats.meanResponseTokens(),
                seconds(started));
          }
          if (stats.skippedMinibatches() > 0) {
            out.printf(
                "%s: update %d skipped %d minibatch(es) whose gradient was not finite (no step taken)%n",
                name, update, stats.skippedMinibatches());
            // one such minibatch is skipped as a loss scaler skips a step; in update after update
            // the weights have diverged, and going on would train, checkpoint and publish a broken
            // policy to the end (the updates before this one may already be checkpointed)
            if (++skippingInARow == DIVERGED_AFTER)
              throw new AdamW.NonFiniteGradientException(
                  "gradient not finite in "
                      + DIVERGED_AFTER
                      + " updates in a row, "
                      + (update - DIVERGED_AFTER + 1)
                      + " to "
                      + update);
          } else {
            skippingInARow = 0;
          }
          if (evalSampler != null && (update % config.evalEveryUpdates() == 0 || lastUpdate)) {
            last =
                evaluate(
                    evalSampler,
                    evalTasks,
                    normalisation,
                    config.seed(),
                    update,
                    updated,
                    curve,
                    outDir,
                    out,
                    name,
                    started);
          }
          if (source.checkpointsEveryUpdate()
              || update % config.checkpointEveryUpdates() == 0
              || lastUpdate) {
            var weights = checkpoint(config, policy, learner, source, outDir, clock.seconds());
            if (update % config.logEveryUpdates() == 0 || lastUpdate) {
              out.printf("%s: checkpoint v%d written%n", name, update);
            }
            out.flush();
            source.checkpointed(weights); // the very weights just checkpointed
          }
          out.flush();
          if (update == haltAfterUpdate) return null;
        }
        out.printf(
            "%s: done at policy v%d; wrote %s in %.0f s%n",
            name, learner.updates(), outDir, seconds(started));
        out.flush();
        return last;
      }
    }
  }

  /**
   * Refuses to resume the run checkpointed in {@code outDir} with a config that changes a setting
   * of its {@link RunIdentity}, naming each; a checkpoint written before identities were stored
   * passes. The command line calls it before it writes anything into {@code outDir}.
   *
   * @throws InputError naming every changed setting
   */
  public static void checkResume(PpoConfig config, Path outDir) throws IOException {
    checkIdentity(config, outDir, Checkpoint.extras(outDir));
  }

  private static void checkIdentity(PpoConfig config, Path outDir, JsonNode extra)
      throws IOException {
    var node = extra.get(RunIdentity.KEY);
    if (node == null) return;
    var changes = RunIdentity.read(node).changesIn(RunIdentity.of(config));
    if (!changes.isEmpty()) {
      throw new InputError(
          "cannot resume the run in "
              + outDir
              + " with other settings that define its data ("
              + String.join(", ", changes)
              + "): resume with the run's own values, or start a new run in another --out");
    }
  }

  /**
   * Weights, optimizer, policy version, the learner's resume state and the source's position in one
   * atomic {@link Checkpoint}; returns the weights it wrote.
   */
  private static io.streamrlhf.model.WeightSnapshot checkpoint(
      PpoConfig config,
      Gpt policy,
      PpoLearner learner,
      RolloutSource source,
      Path outDir,
      double trainingSeconds)
      throws IOException {
    var progress = learner.resumeState();
    var position = source.position();
    var extra = Json.MAPPER.createObjectNode();
    extra.set(LEARNER_STATE, Json.MAPPER.valueToTree(progress));
    extra.set(RunIdentity.KEY, Json.MAPPER.valueToTree(RunIdentity.of(config)));
    extra.put(TrainingClock.KEY, trainingSeconds);
    if (position.state() != null) extra.set(SOURCE_STATE, position.state());
    var rng = position.rng() != null ? position.rng() : progress.shuffleRng();
    var state =
        new TrainState(
            config.stageName(),
            learner.updates(),
            position.dataPosition(),
            rng,
            learner.updates(),
            extra);
    var weights = policy.snapshot(learner.updates());
    Checkpoint.write(outDir, policy.config(), weights, learner.optimizerState(), state);
    return weights;
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
   * model (proxy, normalised as PPO sees it), and its KL to the SFT model per response; {@code
   * seconds} is the training clock when update {@code update} ended.
   */
  static GoldProxyCurve.Point evaluate(
      RolloutSampler sampler,
      List<Task> tasks,
      RewardSource.Normalisation rmStats,
      long seed,
      long update,
      double seconds,
      GoldProxyCurve curve,
      Path outDir,
      PrintWriter out,
      String name,
      long started)
      throws IOException {
    var prompts = tasks.stream().map(t -> ByteTokenizer.encode(t.prompt())).toList();
    var batch = sampler.sample(prompts, 1, seed ^ 0xe7a1L, update);
    double gold = 0;
    double proxy = 0;
    double kl = 0;
    for (int i = 0; i < tasks.size(); i++) {
      var rollout = batch.rollouts().get(i);
      gold +=
          Oracle.grade(tasks.get(i), ByteTokenizer.decode(rollout.response()), rollout.terminated())
              .score();
      proxy += Ppo.normalisedScore(rollout.rmScore(), rmStats.mean(), rmStats.std());
      kl += Ppo.responseKl(rollout.behaviourLogProbs(), rollout.refLogProbs());
    }
    int n = tasks.size();
    var point = new GoldProxyCurve.Point(update, gold / n, proxy / n, kl / n, seconds);
    curve.add(point);
    curve.plot(outDir.resolve(CURVE_PNG));
    out.printf(
        "%s: eval at update %d on %d held-out prompts: oracle %.3f  rm (normalised) %+.3f  kl %.3f  %.0f s%n",
        name, update, n, point.oracleScore(), point.rmScore(), point.kl(), seconds(started));
    out.flush();
    return point;
  }

  private static double seconds(long startedNanos) {
    return (System.nanoTime() - startedNanos) / 1e9;
  }
}
