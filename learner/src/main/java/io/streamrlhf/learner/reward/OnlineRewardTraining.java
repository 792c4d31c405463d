package io.streamrlhf.learner.reward;

import com.fasterxml.jackson.databind.JsonNode;
import io.streamrlhf.learner.config.OnlineRewardConfig;
import io.streamrlhf.learner.train.InputError;
import io.streamrlhf.learner.train.TrainingRun;
import io.streamrlhf.model.Gpt;
import io.streamrlhf.model.RewardModel;
import io.streamrlhf.model.WeightSnapshot;
import io.streamrlhf.model.checkpoint.Checkpoint;
import io.streamrlhf.model.checkpoint.Json;
import io.streamrlhf.model.checkpoint.RewardStats;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The model half of the reward trainer (the Kafka half, which feeds it comparisons in order and
 * publishes its versions, is {@code learner.stream.RewardTrainer}): the reward model keeps learning
 * from comparisons as they arrive, with the offline stage's pieces — the score head + w·log
 * π_SFT(y|x) ({@link RewardModel}), the head trained alone by Bradley-Terry on all C(K,2) pairs of
 * each ranking in one batch ({@link RewardScoring}), then w fitted with the head held fixed ({@link
 * BradleyTerry#fitOffsetWeight}), and the score's mean and std on SFT samples ({@link
 * ScoreSamples}).
 *
 * <p>Where it starts. With a reward model from the offline stage, from its weights and w. Without
 * one (a cold start), from the SFT model with its scalar head zeroed and w = 0 — every score equal
 * — and w is fitted as the comparisons arrive, before each version is published, once the replay
 * buffer holds {@code likelihood_fit_min_comparisons}. Fitted rather than left at 0 because the SFT
 * likelihood already ranks samples usefully before the head has learned anything (TASKS.md: it did
 * most of the offline model's work), so a cold-started reward model is informative to PPO within
 * its first versions, and the fit shrinks w again as the head learns what the likelihood missed.
 *
 * <p>Per step: the fresh comparisons, their SFT log-likelihoods computed once (the SFT model is
 * frozen), go to the held-out set or into one batch with a replay of earlier ones ({@link
 * ReplayBuffer}); after the step the fresh ones join the buffer. Everything it holds — weights,
 * optimizer, random stream, replay buffer, held-out set, w and the counts — goes into one atomic
 * {@link Checkpoint} ({@link #checkpoint}), with the stream's offsets beside it.
 */
public final class OnlineRewardTraining implements AutoCloseable {
  /** Train-state extras key of {@link State}. */
  public static final String STATE_KEY = "online_reward";

  /**
   * Rankings w is fitted on per version: one weight, pinned to a few percent by ~1,500 pairs, and a
   * fit that costs one scoring pass over them.
   */
  static final int FIT_SETS = 256;

  /**
   * What the checkpoint holds besides weights, optimizer and random stream.
   *
   * @param trained fresh comparisons trained on
   * @param heldOut comparisons held out
   * @param skipped comparisons that could not be used
   * @param startedAtMillis when the run first started (wall clock), for the accuracy-over-time file
   */
  public record State(
      long trained,
      long heldOut,
      long skipped,
      long startedAtMillis,
      double likelihoodWeight,
      double scoreMean,
      double scoreStd,
      ReplayBuffer.State replay,
      List<RankedComparison> heldOutComparisons) {}

  /**
   * A reward-model version: what readers need to score as the trainer does and to normalise as PPO
   * does.
   *
   * @param version optimizer steps taken (as a policy's version is its updates)
   * @param likelihoodWeight w of the score head + w·log π_SFT(y|x)
   * @param scoreMean mean score on the fixed SFT samples
   * @param scoreStd its standard deviation
   */
  public record Version(long version, double likelihoodWeight, double scoreMean, double scoreStd) {}

  /** What one step did. */
  public record Step(
      long step,
      double loss,
      double batchAccuracy,
      int fresh,
      int replayed,
      int pairs,
      double gradNorm,
      double learningRate) {}

  private final OnlineRewardConfig config;
  private final TrainingRun run;
  private final Gpt sft;
  private final ScoreSamples samples;
  private final ReplayBuffer replay;
  private final HeldOutComparisons heldOut;
  private final long startedAtMillis;
  private long trained;
  private long heldOutCount;
  private long skipped;
  private double likelihoodWeight;
  private double scoreMean;
  private double scoreStd;
  private HeldOutComparisons.Figures figures;

  private OnlineRewardTraining(
      OnlineRewardConfig config, TrainingRun run, Gpt sft, ScoreSamples samples, State state) {
    this.config = config;
    this.run = run;
    this.sft = sft;
    this.samples = samples;
    this.replay = new ReplayBuffer(config.replayBufferSize(), state.replay());
    this.heldOut = new HeldOutComparisons(config.heldOutSize(), state.heldOutComparisons());
    this.startedAtMillis = state.startedAtMillis();
    this.trained = state.trained();
    this.heldOutCount = state.heldOut();
    this.skipped = state.skipped();
    this.likelihoodWeight = state.likelihoodWeight();
    this.scoreMean = state.scoreMean();
    this.scoreStd = state.scoreStd();
  }

  /**
   * A new run in {@code outDir}: from the reward model in {@code rmDir}, or, when it is null, from
   * the SFT model with its scalar head zeroed. Draws the score samples first; writes no checkpoint.
   */
  public static OnlineRewardTraining start(
      OnlineRewardConfig config, Path sftDir, Path rmDir, Path outDir, PrintWriter out)
      throws IOException {
    var sft = Checkpoint.loadModel(sftDir);
    Gpt model = null;
    try {
      double weight;
      if (rmDir != null) {
        weight = rewardStats(rmDir).likelihoodWeight();
        model = Checkpoint.loadModel(rmDir);
        if (model.config().vocabSize() != sft.config().vocabSize()) {
          throw new InputError(
              "the reward model " + rmDir + " and SFT model " + sftDir + " differ in vocabulary");
        }
        out.printf(
            Locale.ROOT,
            "%s: starting from the reward model in %s (%,d parameters, w = %.4f)%n",
            config.stageName(),
            rmDir,
            model.parameterCount(),
            weight);
      } else {
        weight = 0;
        model = Checkpoint.loadModel(sftDir);
        // SFT trains only the logits: its scalar head is untrained noise, so it starts at 0 (every
        // score equal) as the offline stage's does
        model.zeroScalarHead();
        out.printf(
            Locale.ROOT,
            "%s: cold start from the SFT model in %s (%,d parameters), scalar head zeroed, w = 0%s%n",
            config.stageName(),
            sftDir,
            model.parameterCount(),
            config.likelihoodTerm()
                ? " until "
                    + config.likelihoodFitMinComparisons()
                    + " comparisons are in the replay buffer"
                : "");
      }
      out.printf(
          "%s: drawing %d SFT samples for the score statistics%n",
          config.stageName(), config.statisticsSamples());
      out.flush();
      var samples =
          ScoreSamples.draw(
              sft, config.statisticsSamples(), config.seed(), config.stageName(), out);
      Files.createDirectories(outDir);
      samples.write(outDir);
      var run = TrainingRun.start(options(config, outDir), model);
      model = null; // the run owns it now
      var state =
          new State(
              0,
              0,
              0,
              System.currentTimeMillis(),
              weight,
              Double.NaN,
              Double.NaN,
              new ReplayBuffer.State(0, List.of()),
              List.of());
      return new OnlineRewardTraining(config, run, sft, samples, state);
    } catch (RuntimeException | IOException e) {
      if (model != null) model.close();
      sft.close();
      throw e;
    }
  }

  /** The run checkpointed in {@code outDir}, where it stopped. */
  public static OnlineRewardTraining resume(
      OnlineRewardConfig config, Path sftDir, Path outDir, PrintWriter out) throws IOException {
    var node = Checkpoint.extras(outDir).get(STATE_KEY);
    if (node == null) {
      throw new InputError(
          outDir + " holds no reward-trainer checkpoint to resume: choose another --out");
    }
    if (!ScoreSamples.exists(outDir)) {
      throw new InputError(
          outDir
              + " has no "
              + ScoreSamples.FILE_NAME
              + ": the score statistics of a resumed run could not be measured on the same samples;"
              + " start afresh in another --out");
    }
    var state = Json.MAPPER.treeToValue(node, State.class);
    var samples = ScoreSamples.read(outDir);
    var sft = Checkpoint.loadModel(sftDir);
    try {
      var run = TrainingRun.resume(options(config, outDir));
      if (run.model().config().vocabSize() != sft.config().vocabSize()) {
        run.close();
        throw new InputError(
            "the reward model in " + outDir + " and SFT model " + sftDir + " differ in vocabulary");
      }
      return new OnlineRewardTraining(config, run, sft, samples, state);
    } catch (RuntimeException | IOException e) {
      sft.close();
      throw e;
    }
  }

  private static TrainingRun.Options options(OnlineRewardConfig config, Path outDir) {
    var optimizer = config.optimizer();
    return new TrainingRun.Options(
        config.stageName(),
        outDir,
        optimizer.schedule(optimizer.warmupSteps() + (long) config.decaySteps()),
        optimizer.adam(),
        config.seed(),
        Integer
            .MAX_VALUE); // checkpoints are the trainer's: with the stream's offsets, then published
  }

  private static RewardStats rewardStats(Path rmDir) throws IOException {
    try {
      return RewardStats.read(rmDir);
    } catch (IllegalArgumentException e) {
      throw new InputError(e.getMessage());
    }
  }

  /** The longest prompt + response the reward model reads. */
  public int contextLength() {
    return run.model().config().contextLength();
  }

  /**
   * Takes comparisons in: {@code heldOut} into the held-out set, {@code fresh} into one optimizer
   * step with a replay of earlier comparisons, then into the replay buffer. Returns null when there
   * was nothing to train on.
   */
  public Step step(List<RankedComparison> fresh, List<RankedComparison> heldOut) {
    var all = new ArrayList<>(fresh);
    all.addAll(heldOut);
    all = new ArrayList<>(withSftLogLikelihoods(all));
    all.subList(fresh.size(), all.size()).forEach(this.heldOut::add);
    heldOutCount += heldOut.size();
    if (fresh.isEmpty()) return null;
    var freshScored = List.copyOf(all.subList(0, fresh.size()));
    var replayed = replay.sample(config.replayedWith(fresh.size()), run.rng());
    var batch = new ArrayList<RankedSet>();
    freshScored.forEach(c -> batch.add(c.rankedSet()));
    replayed.forEach(c -> batch.add(c.rankedSet()));
    var head = RewardModel.headOnly(run.model());
    var pooled = new RewardScoring.PooledLoss[1];
    var result =
        run.step(
            fresh.size(),
            scope -> {
              pooled[0] = RewardScoring.pooledLoss(head, scope, batch);
              return pooled[0].loss();
            });
    for (var comparison : freshScored) replay.offer(comparison, run.rng());
    trained += fresh.size();
    return new Step(
        result.step(),
        result.loss(),
        pooled[0].accuracy(),
        fresh.size(),
        replayed.size(),
        pooled[0].pairs(),
        result.gradNorm(),
        result.learningRate());
  }

  /** Counts a comparison that could not be used. */
  public void skipped() {
    skipped++;
  }

  /**
   * The version the weights now make: w refitted on the replay buffer (when the likelihood term is
   * on and the buffer holds enough), then the score statistics on the SFT samples.
   */
  public Version prepareVersion() {
    if (config.likelihoodTerm() && replay.size() >= config.likelihoodFitMinComparisons()) {
      var fit = replay.sample(FIT_SETS, run.rng());
      var sets = fit.stream().map(RankedComparison::rankedSet).toList();
      var head = RewardScoring.score(RewardModel.headOnly(run.model()), sets);
      var likelihoods =
          fit.stream().map(RankedComparison::sftLogLikelihoods).toArray(double[][]::new);
      likelihoodWeight = BradleyTerry.fitOffsetWeight(head, likelihoods, RewardScoring.ranks(sets));
    }
    var moments = samples.moments(run.model(), likelihoodWeight);
    scoreMean = moments.mean();
    scoreStd = moments.std();
    return version();
  }

  /** The held-out figures of the weights as they are now (with the current w). */
  public HeldOutComparisons.Figures evaluate() {
    figures = heldOut.evaluate(RewardModel.headOnly(run.model()), likelihoodWeight);
    return figures;
  }

  /**
   * One atomic checkpoint: weights, optimizer, random stream, this trainer's {@link State} and the
   * source's state under {@code sourceKey} (the stream's offsets), with {@link RewardStats} so the
   * directory also loads as a reward model ({@code Checkpoint.loadRewardModel}). Returns the
   * weights written.
   */
  public WeightSnapshot checkpoint(String sourceKey, JsonNode sourceState) {
    var extra = run.extra();
    extra.set(STATE_KEY, Json.MAPPER.valueToTree(state()));
    extra.set(sourceKey, sourceState);
    rewardStats().into(extra);
    run.setExtra(extra);
    return run.checkpoint();
  }

  private State state() {
    return new State(
        trained,
        heldOutCount,
        skipped,
        startedAtMillis,
        likelihoodWeight,
        scoreMean,
        scoreStd,
        replay.state(),
        heldOut.contents());
  }

  /**
   * The offline stage's record, for readers of reward checkpoints; what the stream does not know
   * (the labelers' noise, an accuracy before training, a length bias) is NaN.
   */
  private RewardStats rewardStats() {
    var f = figures != null ? figures : evaluate();
    int k = heldOut.contents().stream().mapToInt(RankedComparison::k).max().orElse(0);
    return new RewardStats(
        scoreMean,
        scoreStd,
        k,
        f.comparisons(),
        f.pairs(),
        f.accuracy(),
        f.labelerAgreement(),
        f.accuracyVsOracle(),
        Double.NaN,
        likelihoodWeight,
        Double.NaN,
        f.headAccuracy(),
        f.headAccuracyStandardError(),
        Double.NaN);
  }

  /** The version the weights made at the last {@link #prepareVersion}. */
  public Version version() {
    return new Version(run.step(), likelihoodWeight, scoreMean, scoreStd);
  }

  public Gpt model() {
    return run.model();
  }

  /** Optimizer steps taken. */
  public long steps() {
    return run.step();
  }

  /** Comparisons taken in so far: trained on, held out or skipped. */
  public long seen() {
    return trained + heldOutCount + skipped;
  }

  public long trained() {
    return trained;
  }

  public long heldOut() {
    return heldOutCount;
  }

  public long skippedCount() {
    return skipped;
  }

  public int replaySize() {
    return replay.size();
  }

  public long startedAtMillis() {
    return startedAtMillis;
  }

  private List<RankedComparison> withSftLogLikelihoods(List<RankedComparison> comparisons) {
    if (comparisons.isEmpty()) return comparisons;
    var sets = comparisons.stream().map(RankedComparison::rankedSet).toList();
    var likelihoods = RewardScoring.score(sft::sequenceLogLikelihood, sets);
    var out = new ArrayList<RankedComparison>(comparisons.size());
    for (int i = 0; i < comparisons.size(); i++) {
      out.add(comparisons.get(i).withSftLogLikelihoods(likelihoods[i]));
    }
    return out;
  }

  @Override
  public void close() {
    try (sft) {
      run.close();
    }
  }
}
