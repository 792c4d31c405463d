package io.streamrlhf.learner.reward;

import io.streamrlhf.learner.config.RewardConfig;
import io.streamrlhf.learner.sft.SupervisedFineTuning;
import io.streamrlhf.learner.train.InputError;
import io.streamrlhf.learner.train.TrainingRun;
import io.streamrlhf.model.ByteTokenizer;
import io.streamrlhf.model.GenerationWorkers;
import io.streamrlhf.model.Generator;
import io.streamrlhf.model.Gpt;
import io.streamrlhf.model.RewardModel;
import io.streamrlhf.model.checkpoint.Checkpoint;
import io.streamrlhf.model.checkpoint.RewardStats;
import io.streamrlhf.tasks.Completion;
import io.streamrlhf.tasks.Family;
import io.streamrlhf.tasks.Labeler;
import io.streamrlhf.tasks.LabelerAgreement;
import io.streamrlhf.tasks.Oracle;
import io.streamrlhf.tasks.SplitMix64;
import io.streamrlhf.tasks.Task;
import io.streamrlhf.tasks.TrainingPrompts;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * The reward stage (InstructGPT step 2), in the order it runs:
 *
 * <ol>
 *   <li>draw training and held-out prompts (disjoint, but for the 8 color and 10 insult prompts
 *       that must repeat; neither touches the evaluation set);
 *   <li>sample K responses per prompt from the SFT model (batched KV-cache sampling, seeded);
 *   <li>calibrate the simulated labelers' noise β on the training K-sets to InstructGPT's 73%
 *       agreement, then have them rank every set (a pool of labelers for training, labeler 1 for
 *       the held-out sets and labeler 2 beside it to measure agreement);
 *   <li>train the reward model's scalar head (InstructGPT's reward model), initialised from the SFT
 *       weights with the head zeroed, on batches of prompts with all C(K,2) pairs of each prompt
 *       together ({@link RewardScoring}), as a {@link TrainingRun}: the ranked sets are saved first
 *       ({@link RewardData}), so a killed run resumes on the same data;
 *   <li>with {@code likelihood_term}, fit the weight w of log π_SFT(y|x) in the score head + w·log
 *       π_SFT on the training comparisons, the head held fixed;
 *   <li>report held-out pairwise accuracy (before training, after, of the head alone, by family)
 *       next to labeler agreement on the same pairs and the score's length bias, and store them
 *       with the score mean and std on SFT samples in the checkpoint.
 * </ol>
 */
public final class RewardStage {
  /** Prompts sampled together in one generate call (× K rows). */
  private static final int PROMPTS_PER_GENERATION = 64;

  /** Ids of the labelers who rank the training sets, round-robin by prompt. */
  private static final int[] TRAINING_LABELERS = {3, 4, 5, 6};

  private static final int HELD_OUT_LABELER = 1;
  private static final int SECOND_HELD_OUT_LABELER = 2;

  /** Extras key: held-out accuracy of the initial model, measured before the first step. */
  private static final String ACCURACY_BEFORE_TRAINING = "accuracy_before_training";

  /** TASKS.md: ranked prompts are at least this many times the SFT demonstration pool. */
  static final double RANKED_PER_DEMONSTRATION = 2.5;

  private RewardStage() {}

  /** One prompt's K SFT samples with their oracle scores. */
  public record SampledSet(Task task, int[] prompt, List<int[]> responses, double[] oracleScores) {}

  public static RewardStats run(
      RewardConfig config, Path sftDir, Path outDir, boolean resume, PrintWriter out)
      throws IOException {
    return run(config, sftDir, outDir, resume, out, Long.MAX_VALUE);
  }

  /**
   * The same with a halt after optimizer step {@code haltAfterStep} that writes no final checkpoint
   * — what a kill at that step leaves behind (for resume tests); returns null then.
   */
  public static RewardStats run(
      RewardConfig config,
      Path sftDir,
      Path outDir,
      boolean resume,
      PrintWriter out,
      long haltAfterStep)
      throws IOException {
    long started = System.nanoTime();
    long steps = config.totalSteps();
    var options =
        new TrainingRun.Options(
            config.stageName(),
            outDir,
            config.optimizer().schedule(steps),
            config.optimizer().adam(),
            config.seed(),
            config.checkpointEverySteps());
    RewardData data;
    TrainingRun run;
    if (resume) {
      if (!RewardData.exists(outDir)) {
        // the run's ranked prompts are gone: a resume would train on other data; no retry mends it
        throw new InputError(
            outDir
                + " has no "
                + RewardData.FILE_NAME
                + " to resume on (written by an older version, or removed): delete the directory to"
                + " train the reward model again");
      }
      data = RewardData.read(outDir);
      run = TrainingRun.resume(options);
      out.printf(
          "reward: resuming at step %d of %d on the %d ranked training sets in %s%n",
          run.step(), steps, data.train().size(), outDir.resolve(RewardData.FILE_NAME));
    } else {
      var model = Checkpoint.loadModel(sftDir);
      try {
        out.printf(
            "reward: SFT model from %s (%,d parameters); sampling %d responses per prompt%n",
            sftDir, model.parameterCount(), config.responsesPerPrompt());
        data = sampleAndRank(model, config, out, started);
        reportDataBudget(data, sftDir, out);
        // SFT trains only the logits, so the scalar head it carries is untrained noise: start it at
        // 0
        model.zeroScalarHead();
        data.write(outDir);
      } catch (RuntimeException | IOException e) {
        model.close();
        throw e;
      }
      run = TrainingRun.start(options, model);
      // the score before training: the zeroed head ties every pair, so only the likelihood term
      // ranks
      double before;
      if (config.likelihoodTerm()) {
        try (var sft = Checkpoint.loadModel(sftDir)) {
          before = RewardScoring.accuracy(sft::sequenceLogLikelihood, data.heldOut());
        }
      } else {
        before = RewardScoring.accuracy(RewardModel.headOnly(model), data.heldOut());
      }
      out.printf(
          "reward: before training, held-out accuracy %.3f (labeler agreement %.3f)%n",
          before, data.labelerAgreement());
      var extra = run.extra();
      extra.put(
          ACCURACY_BEFORE_TRAINING,
          before); // kept for the stats written at the end, after a resume too
      run.setExtra(extra);
      run.checkpoint(); // step 0: the SFT initialisation beside its data, so a kill from here on
      // can resume
    }
    if (data.train().size() != config.trainingPrompts()) {
      run.close();
      throw new IllegalArgumentException(
          outDir.resolve(RewardData.FILE_NAME)
              + " holds "
              + data.train().size()
              + " training sets but training_prompts is "
              + config.trainingPrompts());
    }
    try (run) {
      int perBatch = config.promptsPerBatch();
      long stepsPerEpoch = config.stepsPerEpoch();
      List<RankedSet> order = List.of();
      long orderEpoch = -1;
      double lossSum = 0;
      double accuracySum = 0;
      int logged = 0;
      long firstStep = run.step();
      while (run.step() < steps) {
        long epoch = run.step() / stepsPerEpoch;
        if (epoch != orderEpoch) {
          order = epochOrder(data.train(), config.seed(), epoch);
          orderEpoch = epoch;
        }
        int from = Math.toIntExact((run.step() % stepsPerEpoch) * perBatch);
        var batch = order.subList(from, Math.min(order.size(), from + perBatch));
        var accuracy = new double[1];
        var result =
            run.step(
                batch.size(),
                scope -> {
                  var loss = RewardScoring.loss(RewardModel.headOnly(run.model()), scope, batch);
                  accuracy[0] = loss.accuracy(batch);
                  return loss.loss();
                });
        lossSum += result.loss();
        accuracySum += accuracy[0];
        logged++;
        if (result.step() % config.logEverySteps() == 0 || result.step() == steps) {
          out.printf(
              "reward: step %d/%d  loss %.4f  batch accuracy %.3f  grad norm %.3f  lr %.2e  %.0f s%n",
              result.step(),
              steps,
              lossSum / logged,
              accuracySum / logged,
              result.gradNorm(),
              result.learningRate(),
              seconds(started));
          out.flush();
          lossSum = 0;
          accuracySum = 0;
          logged = 0;
        }
        if (run.step() == haltAfterStep) return null;
      }
      RewardStats stats;
      Map<Family, FamilyAccuracy> byFamily;
      try (var sft = Checkpoint.loadModel(sftDir)) {
        double weight = 0;
        if (config.likelihoodTerm()) {
          weight = fitLikelihoodWeight(run.model(), sft, data.train(), config.seed());
          out.printf(
              "reward: likelihood term: weight %.4f of log pi_SFT(y|x) fitted on the training comparisons%n",
              weight);
        }
        var rewardModel = new RewardModel(run.model(), sft, weight);
        var scores = RewardScoring.score(rewardModel, data.heldOut());
        var headScores =
            weight == 0 ? scores : RewardScoring.score(rewardModel::headScores, data.heldOut());
        stats =
            measure(
                scores,
                headScores,
                weight,
                data,
                config,
                run.extra().path(ACCURACY_BEFORE_TRAINING).asDouble(Double.NaN));
        byFamily =
            byFamily(
                data.heldOut().stream().map(set -> familyOf(set.prompt())).toList(),
                scores,
                headScores,
                RewardScoring.ranks(data.heldOut()),
                data.heldOutOracleRanks().toArray(int[][]::new));
      }
      // a resume of a finished run took no step: its checkpoint in force already holds these
      // figures, and another at the same step would only copy it
      boolean finishedBefore = run.step() == firstStep && stats.equals(savedStats(outDir));
      if (!finishedBefore) {
        run.setExtra(stats.into(run.extra()));
        run.checkpoint();
      }
      out.printf(
          "reward: held-out pairwise accuracy %.3f vs labeler agreement %.3f on the same %d pairs "
              + "(%d prompts, K=%d); vs the oracle's order %.3f%n",
          stats.heldOutAccuracy(),
          stats.labelerAgreement(),
          stats.heldOutPairs(),
          stats.heldOutSets(),
          config.responsesPerPrompt(),
          stats.heldOutAccuracyVsOracle());
      out.printf(
          "reward: held-out accuracy before training %.3f, after %.3f; the trained scalar head alone %.3f"
              + " ± %s (score = head%s)%n",
          stats.heldOutAccuracyBeforeTraining(),
          stats.heldOutAccuracy(),
          stats.headAccuracy(),
          figure(stats.headAccuracyStandardError()),
          stats.likelihoodWeight() == 0
              ? ""
              : String.format(
                  java.util.Locale.ROOT, " + %.4f x log pi_SFT(y|x)", stats.likelihoodWeight()));
      out.println(
          "reward: by family, the head alone vs labeler 1 / vs the oracle's order, and the score vs labeler 1:");
      out.println(
          "  "
              + String.join(
                  " ",
                  byFamily.entrySet().stream()
                      .map(e -> e.getKey().id() + " " + e.getValue().format())
                      .toList()));
      out.printf(
          "reward: length bias: correlation of the score with response length %+.3f on the held-out samples%n",
          stats.scoreLengthCorrelation());
      out.printf(
          "reward: RM scores on SFT samples: mean %.4f, std %.4f (stored for PPO's normalisation)%n",
          stats.scoreMean(), stats.scoreStd());
      out.printf("reward: wrote %s in %.0f s%n", outDir, seconds(started));
      out.flush();
      return stats;
    }
  }

  /**
   * Steps 1-3: training and held-out prompts (disjoint; neither touches the evaluation set), K SFT
   * samples each, calibrated labelers' rankings, and labeler agreement on the held-out sets.
   */
  static RewardData sampleAndRank(Gpt model, RewardConfig config, PrintWriter out, long started) {
    var rng = new SplitMix64(config.seed());
    var prompts = new TrainingPrompts(config.seed());
    var trainTasks = new ArrayList<Task>();
    var heldOutTasks = new ArrayList<Task>();
    var seen = new java.util.HashSet<String>();
    while (trainTasks.size() + heldOutTasks.size()
        < config.trainingPrompts() + config.heldOutPrompts()) {
      var task = prompts.next();
      // every prompt is ranked once, so a held-out prompt is never a training prompt; color and
      // insult have only 8 and 10 training prompts (TASKS.md's split), so theirs repeat, on both
      // sides, each time with fresh samples and labelers
      if (!task.family().fewTrainingPrompts() && !seen.add(task.instruction())) continue;
      (heldOutTasks.size() < config.heldOutPrompts() ? heldOutTasks : trainTasks).add(task);
    }
    var trainSamples = sample(model, trainTasks, config, rng, out, started);
    var heldOutSamples = sample(model, heldOutTasks, config, rng, out, started);

    double beta = calibrateBeta(trainSamples, config.seed(), out);
    var train = new ArrayList<RankedSet>();
    for (int i = 0; i < trainSamples.size(); i++) {
      var labeler =
          new Labeler(TRAINING_LABELERS[i % TRAINING_LABELERS.length], beta, config.seed() + i);
      train.add(rank(trainSamples.get(i), labeler));
    }
    var first = new Labeler(HELD_OUT_LABELER, beta, config.seed());
    var second = new Labeler(SECOND_HELD_OUT_LABELER, beta, config.seed());
    var heldOut = new ArrayList<RankedSet>();
    var secondOpinion = new ArrayList<double[]>();
    var oracleOrder = new ArrayList<int[]>();
    for (var set : heldOutSamples) {
      heldOut.add(rank(set, first));
      // labeler 2's ranks as scores (rank 0 best → highest), to score its agreement with labeler 1
      secondOpinion.add(Arrays.stream(rank(set, second).ranks()).mapToDouble(r -> -r).toArray());
      oracleOrder.add(oracleRanks(set.oracleScores()));
    }
    double agreement =
        BradleyTerry.accuracy(secondOpinion.toArray(double[][]::new), RewardScoring.ranks(heldOut));
    return new RewardData(beta, agreement, train, heldOut, oracleOrder);
  }

  /**
   * Step 5: held-out accuracy beside labeler agreement (of the score and of the scalar head alone),
   * the length bias, and the score statistics PPO normalises with; {@code scores} and {@code
   * headScores} are the reward model's held-out scores with and without its likelihood term,
   * [prompt][response].
   */
  static RewardStats measure(
      double[][] scores,
      double[][] headScores,
      double likelihoodWeight,
      RewardData data,
      RewardConfig config,
      double accuracyBefore) {
    var heldOutRanks = RewardScoring.ranks(data.heldOut());
    double accuracy = BradleyTerry.accuracy(scores, heldOutRanks);
    double accuracyVsOracle =
        BradleyTerry.accuracy(scores, data.heldOutOracleRanks().toArray(int[][]::new));
    var flatScores = new ArrayList<Double>();
    var lengths = new ArrayList<Double>();
    for (int p = 0; p < scores.length; p++) {
      for (int k = 0; k < scores[p].length; k++) {
        flatScores.add(scores[p][k]);
        lengths.add((double) data.heldOut().get(p).responses().get(k).length);
      }
    }
    var moments = Moments.of(flatScores);
    return new RewardStats(
        moments.mean(),
        moments.std(),
        config.responsesPerPrompt(),
        data.heldOut().size(),
        BradleyTerry.pairs(heldOutRanks).size(),
        accuracy,
        data.labelerAgreement(),
        accuracyVsOracle,
        data.labelerBeta(),
        likelihoodWeight,
        accuracyBefore,
        BradleyTerry.accuracy(headScores, heldOutRanks),
        BradleyTerry.accuracyStandardError(headScores, heldOutRanks),
        Moments.correlation(flatScores, lengths));
  }

  /**
   * One family's held-out pairs: the head alone against labeler 1 and against the oracle's order,
   * and the score against labeler 1.
   */
  record FamilyAccuracy(double head, double headVsOracle, double score) {
    String format() {
      return figure(head) + "/" + figure(headVsOracle) + " (" + figure(score) + ")";
    }
  }

  /**
   * A share or its error to three places; "n/a" where nothing measured it (every pair of a family
   * tied under the oracle, one held-out prompt's standard error, a live trainer before its first
   * pair).
   */
  public static String figure(double x) {
    return Double.isNaN(x) ? "n/a" : String.format(java.util.Locale.ROOT, "%.3f", x);
  }

  /**
   * Held-out accuracy family by family (in {@link Family} order, the families with any held-out
   * prompt; scores and ranks are [prompt][response] as in {@link BradleyTerry}): where the head's
   * ranking falls short of the oracle's, and where the likelihood term makes up for it.
   */
  static Map<Family, FamilyAccuracy> byFamily(
      List<Family> families,
      double[][] scores,
      double[][] headScores,
      int[][] ranks,
      int[][] oracleRanks) {
    var result = new EnumMap<Family, FamilyAccuracy>(Family.class);
    for (var family : Family.values()) {
      int[] rows =
          java.util.stream.IntStream.range(0, families.size())
              .filter(p -> families.get(p) == family)
              .toArray();
      if (rows.length == 0) continue;
      var familyRanks = rows(ranks, rows);
      var familyHeadScores = rows(headScores, rows);
      result.put(
          family,
          new FamilyAccuracy(
              BradleyTerry.accuracy(familyHeadScores, familyRanks),
              BradleyTerry.accuracy(familyHeadScores, rows(oracleRanks, rows)),
              BradleyTerry.accuracy(rows(scores, rows), familyRanks)));
    }
    return result;
  }

  private static double[][] rows(double[][] all, int[] rows) {
    return Arrays.stream(rows).mapToObj(p -> all[p]).toArray(double[][]::new);
  }

  private static int[][] rows(int[][] all, int[] rows) {
    return Arrays.stream(rows).mapToObj(p -> all[p]).toArray(int[][]::new);
  }

  private static Family familyOf(int[] prompt) {
    return Task.parse(ByteTokenizer.decode(prompt)).family();
  }

  /** Training sets the likelihood weight is fitted on (a seeded sample when there are more). */
  static final int FIT_SETS = 2_000;

  /**
   * w of head + w·log π_SFT: the Bradley-Terry maximum-likelihood weight with the trained head held
   * fixed ({@link BradleyTerry#fitOffsetWeight}), on up to {@value #FIT_SETS} training sets.
   */
  static double fitLikelihoodWeight(Gpt rewardModel, Gpt sft, List<RankedSet> train, long seed) {
    var sets = epochOrder(train, seed, -1);
    sets = sets.subList(0, Math.min(FIT_SETS, sets.size()));
    var head = RewardScoring.score(RewardModel.headOnly(rewardModel), sets);
    var likelihood = RewardScoring.score(sft::sequenceLogLikelihood, sets);
    return BradleyTerry.fitOffsetWeight(head, likelihood, RewardScoring.ranks(sets));
  }

  /**
   * Prints the ranked prompts against the SFT pool (TASKS.md: at least 2.5 distinct ranked prompts
   * per demonstration, InstructGPT's proportions), with a warning when the budget falls short.
   */
  static void reportDataBudget(RewardData data, Path sftDir, PrintWriter out) throws IOException {
    long distinct =
        data.train().stream()
            .map(set -> java.util.Arrays.toString(set.prompt()))
            .distinct()
            .count();
    var pool = Checkpoint.extras(sftDir).get(SupervisedFineTuning.POOL_KEY);
    if (pool == null) {
      out.printf(
          "reward: %d ranked training prompts (%d distinct)%n", data.train().size(), distinct);
      return;
    }
    double ratio = (double) distinct / pool.asLong();
    out.printf(
        "reward: %d ranked training prompts (%d distinct) against %d SFT demonstrations: %.2f per demonstration%n",
        data.train().size(), distinct, pool.asLong(), ratio);
    if (ratio < RANKED_PER_DEMONSTRATION) {
      out.printf(
          "reward: warning: TASKS.md ranks at least %.1f distinct prompts per demonstration; raise "
              + "training_prompts to %d or more%n",
          RANKED_PER_DEMONSTRATION,
          (long)
              Math.ceil(
                  RANKED_PER_DEMONSTRATION
                      * pool.asLong()
                      * data.train().size()
                      / (double) distinct));
    }
  }

  /**
   * The training sets in epoch {@code epoch}'s order: a shuffle drawn from a stream of its own
   * (seed, epoch), so the data position alone says which sets a step trains on, after a resume too.
   */
  static List<RankedSet> epochOrder(List<RankedSet> sets, long seed, long epoch) {
    var order = new ArrayList<>(sets);
    var rng = SplitMix64.stream(seed, "reward-epoch-" + epoch);
    for (int i = order.size() - 1; i > 0; i--) {
      int j = rng.nextInt(i + 1);
      var swap = order.get(i);
      order.set(i, order.get(j));
      order.set(j, swap);
    }
    return order;
  }

  /** K samples for each task from {@code model}, several prompts per batched generate call. */
  public static List<SampledSet> sample(
      Gpt model,
      List<Task> tasks,
      RewardConfig config,
      SplitMix64 rng,
      PrintWriter out,
      long started) {
    return sample(
        model,
        tasks,
        config.responsesPerPrompt(),
        config.samplingTemperature(),
        rng,
        config.stageName(),
        out,
        started);
  }

  /**
   * {@code k} samples for each task from {@code model} at {@code temperature}, with their oracle
   * scores; progress lines start with {@code stage}.
   */
  public static List<SampledSet> sample(
      Gpt model,
      List<Task> tasks,
      int k,
      double temperature,
      SplitMix64 rng,
      String stage,
      PrintWriter out,
      long started) {
    int batches = (tasks.size() + PROMPTS_PER_GENERATION - 1) / PROMPTS_PER_GENERATION;
    // every batch's seed drawn up front, in batch order: the samples do not depend on which worker
    // runs a batch or when
    var seeds = new long[batches];
    for (int i = 0; i < batches; i++) seeds[i] = rng.nextLong();
    var sampled =
        GenerationWorkers.map(
            model,
            batches,
            GenerationWorkers.defaultWorkers(model),
            (copy, i) -> {
              int start = i * PROMPTS_PER_GENERATION;
              var chunk =
                  tasks.subList(start, Math.min(tasks.size(), start + PROMPTS_PER_GENERATION));
              return sampleChunk(copy, chunk, k, temperature, seeds[i]);
            },
            i -> {
              int done = Math.min(tasks.size(), (i + 1) * PROMPTS_PER_GENERATION);
              if (i % 10 == 9 || i == batches - 1) {
                out.printf(
                    "%s: sampled %d/%d prompts x %d  %.0f s%n",
                    stage, done, tasks.size(), k, seconds(started));
                out.flush();
              }
            });
    var sets = new ArrayList<SampledSet>(tasks.size());
    sampled.forEach(sets::addAll);
    return sets;
  }

  /** K samples for each task of {@code chunk} in one batched generate call, oracle-scored. */
  private static List<SampledSet> sampleChunk(
      Gpt model, List<Task> chunk, int k, double temperature, long seed) {
    var prompts = new ArrayList<int[]>();
    for (var task : chunk) {
      var prompt = ByteTokenizer.encode(task.prompt());
      for (int i = 0; i < k; i++) prompts.add(prompt);
    }
    var sampling = new Generator.Sampling(Completion.MAX_NEW_TOKENS, (float) temperature, 0, seed);
    var completions = new Generator(model).generate(prompts, sampling);
    var sets = new ArrayList<SampledSet>(chunk.size());
    for (int t = 0; t < chunk.size(); t++) {
      var responses = new ArrayList<int[]>(k);
      var scores = new double[k];
      for (int i = 0; i < k; i++) {
        var completion = completions.get(t * k + i);
        responses.add(completion.tokens());
        scores[i] =
            Oracle.grade(
                    chunk.get(t),
                    ByteTokenizer.decode(completion.tokens()),
                    completion.terminated())
                .score();
      }
      sets.add(new SampledSet(chunk.get(t), prompts.get(t * k), responses, scores));
    }
    return sets;
  }

  /**
   * β at which two labelers agree on InstructGPT's 73% of pairs, on the training sets with
   * identical responses collapsed (copies are ties, not preferences). When ties among distinct
   * responses cap the reachable agreement below 73%, aim at 90% of the way from chance to that cap
   * and say so.
   */
  static double calibrateBeta(List<SampledSet> sets, long seed, PrintWriter out) {
    var scoreSets = new ArrayList<double[]>();
    for (var set : sets) {
      var distinct = new ArrayList<Double>();
      for (int i = 0; i < set.responses().size(); i++) {
        boolean copy = false;
        for (int j = 0; j < i; j++)
          copy |= Arrays.equals(set.responses().get(i), set.responses().get(j));
        if (!copy) distinct.add(set.oracleScores()[i]);
      }
      if (distinct.size() < 2) continue;
      scoreSets.add(distinct.stream().mapToDouble(Double::doubleValue).toArray());
    }
    if (scoreSets.isEmpty()) {
      throw new InputError(
          "every prompt's K SFT samples are identical: nothing to rank "
              + "(raise sampling_temperature or responses_per_prompt)");
    }
    double target = LabelerAgreement.DEFAULT_TARGET;
    var calibration = LabelerAgreement.calibrateWithinReach(scoreSets, target, seed, 5);
    if (calibration.target() != target) {
      out.printf(
          "reward: %d of %d distinct-response pairs have equal oracle scores, so agreement can reach only "
              + "%.3f; calibrating labelers to %.3f instead of %.3f%n",
          calibration.tiedPairs(),
          calibration.pairs(),
          calibration.ceiling(),
          calibration.target(),
          target);
    }
    out.printf(
        "reward: labeler noise beta %.4f (agreement %.3f measured on %d training sets, target %.3f)%n",
        calibration.beta(), calibration.measured().rate(), scoreSets.size(), calibration.target());
    return calibration.beta();
  }

  private static RankedSet rank(SampledSet set, Labeler labeler) {
    return new RankedSet(
        set.prompt(),
        set.responses(),
        RankedSet.ranksOf(labeler.rank(set.oracleScores()), set.responses()));
  }

  /** Ranks by oracle score, equal scores tied (dense ranks: 0 for the best score). */
  static int[] oracleRanks(double[] scores) {
    var distinct =
        Arrays.stream(scores).boxed().distinct().sorted((a, b) -> Double.compare(b, a)).toList();
    return Arrays.stream(scores).mapToInt(distinct::indexOf).toArray();
  }

  /** The statistics of the checkpoint in force in {@code dir}; null when it has none. */
  private static RewardStats savedStats(Path dir) {
    try {
      return RewardStats.read(dir);
    } catch (IOException | RuntimeException none) {
      return null;
    }
  }

  private static double seconds(long startedNanos) {
    return (System.nanoTime() - startedNanos) / 1e9;
  }
}
