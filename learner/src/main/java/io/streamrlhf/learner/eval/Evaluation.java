package io.streamrlhf.learner.eval;

import ai.djl.ndarray.NDManager;
import io.streamrlhf.model.ByteTokenizer;
import io.streamrlhf.model.Gpt;
import io.streamrlhf.model.RewardModel;
import io.streamrlhf.model.ScoringBatch;
import io.streamrlhf.model.checkpoint.Checkpoint;
import io.streamrlhf.tasks.FewShotPrompt;
import io.streamrlhf.tasks.Grade;
import io.streamrlhf.tasks.Oracle;
import io.streamrlhf.tasks.Task;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Produces the records of the InstructGPT-style table (TASKS.md): one sampled response per held-out
 * prompt for each row — base (zero-shot), base 3-shot, SFT, PPO — graded by the oracle, scored by
 * the reward model when one is given, and with its KL to the SFT model: Σ over the response's
 * sampled tokens of log π(token) − log π_SFT(token), each model at temperature 1 on its own context
 * (the 3-shot row's π sees the few-shot prompt, π_SFT the plain prompt). Base rows are cut at the
 * first newline.
 */
public final class Evaluation {
  private Evaluation() {}

  /** A row of the table: its name in eval.jsonl and --models, its label, and how it prompts. */
  public enum Row {
    BASE("base", "base", false),
    BASE_3SHOT("base-3shot", "base 3-shot", true),
    SFT("sft", "SFT", false),
    PPO("ppo", "PPO", false),
    PPO_GOLD("ppo-gold", "PPO (gold reward)", false);

    public final String id;
    public final String label;
    final boolean fewShot;

    Row(String id, String label, boolean fewShot) {
      this.id = id;
      this.label = label;
      this.fewShot = fewShot;
    }

    boolean isBase() {
      return this == BASE || this == BASE_3SHOT;
    }
  }

  /** The model directories; any may be null, and a row whose model is missing is skipped. */
  public record Models(Path base, Path sft, Path ppo, Path ppoGold, Path rm) {
    public Path of(Row row) {
      return switch (row) {
        case BASE, BASE_3SHOT -> base;
        case SFT -> sft;
        case PPO -> ppo;
        case PPO_GOLD -> ppoGold;
      };
    }
  }

  /**
   * @param temperature sampling temperature (TASKS.md: 1 unless set)
   * @param seed the sampling seed and the few-shot prompts' seed
   * @param promptsPerBatch prompts sampled and scored together
   */
  public record Settings(float temperature, long seed, int promptsPerBatch) {}

  /** The records of {@code rows} (in that order) over {@code tasks}. */
  public static List<EvalTable.Record> run(
      List<Task> tasks, List<Row> rows, Models models, Settings settings, PrintWriter log)
      throws IOException {
    var records = new ArrayList<EvalTable.Record>();
    try (var sft = models.sft() == null ? null : Checkpoint.loadModel(models.sft());
        var rm = models.rm() == null ? null : Checkpoint.loadRewardModel(models.rm(), sft)) {
      for (var row : rows) {
        var dir = models.of(row);
        if (dir == null) {
          log.println("eval: no model directory for row " + row.id + ", skipped");
          continue;
        }
        long t0 = System.nanoTime();
        try (var policy = row == Row.SFT ? null : Checkpoint.loadModel(dir)) {
          var model = policy == null ? sft : policy;
          var prompts =
              tasks.stream()
                  .map(t -> row.fewShot ? FewShotPrompt.build(t, settings.seed()) : t.prompt())
                  .toList();
          // Every row samples with the same seed, so prompt i draws the same random numbers in
          // every row: where PPO keeps SFT's likely tokens, both rows draw the same response, and
          // the win column compares policies more than two independent draws' luck
          // (ResponseSampler).
          var samples =
              ResponseSampler.sample(
                  model,
                  prompts,
                  settings.temperature(),
                  settings.seed(),
                  settings.promptsPerBatch(),
                  row.isBase());
          for (int from = 0; from < tasks.size(); from += settings.promptsPerBatch()) {
            int to = Math.min(tasks.size(), from + settings.promptsPerBatch());
            var batchTasks = tasks.subList(from, to);
            var batchSamples = samples.subList(from, to);
            double[] kl = sft == null ? null : klToSft(model, sft, batchTasks, batchSamples);
            double[] rmScores = rm == null ? null : rewardScores(rm, batchTasks, batchSamples);
            for (int i = 0; i < batchTasks.size(); i++) {
              var task = batchTasks.get(i);
              var sample = batchSamples.get(i);
              var grade = Oracle.grade(task, sample.response(), sample.terminated());
              records.add(
                  new EvalTable.Record(
                      row.id,
                      task.prompt(),
                      task.family().id(),
                      task.reference(),
                      sample.response(),
                      sample.terminated(),
                      grade.score(),
                      rmScores == null ? null : rmScores[i],
                      kl == null ? null : kl[i],
                      sample.tokens().length));
            }
          }
        }
        // which checkpoint: a corrupt newest one gives way to the one before, and the row is then
        // of that earlier model
        log.printf(
            Locale.ROOT,
            "eval: %s (%s of %s) sampled and scored on %d prompts in %.0f s%n",
            row.label,
            Checkpoint.inForce(dir).directory().getFileName(),
            dir,
            tasks.size(),
            (System.nanoTime() - t0) / 1e9);
        log.flush();
      }
    }
    return records;
  }

  /**
   * What the fresh samples say about the table's win column.
   *
   * @param model the evaluated model's win against SFT over N×N samples per prompt: the expected
   *     value of the column
   * @param modelShares the table's share columns over the model's N samples per prompt: what its
   *     one-sample columns estimate (truthful rests on 50 color prompts, so one sample each moves
   *     it by about ±0.06)
   * @param sftShares the same over SFT's N samples per prompt
   * @param modelTruthful truthful per evaluation object over the model's N samples per prompt (null
   *     without color prompts)
   * @param sftTruthful the same over SFT's
   * @param sftRow the table's one SFT sample per prompt against the same N SFT samples: 0.5 in
   *     expectation; how far it is from 0.5 is how much luck that one draw, which every model's
   *     column is measured against, carries into the column (with the opposite sign)
   */
  public record WinEstimates(
      EvalTable.WinEstimate model,
      EvalTable.WinEstimate sftRow,
      EvalTable.Shares modelShares,
      EvalTable.Shares sftShares,
      EvalTable.TruthfulByObject modelTruthful,
      EvalTable.TruthfulByObject sftTruthful) {}

  /**
   * The win of the model in {@code otherDir} against the SFT model over {@code samples} fresh
   * responses per prompt from each, graded by the oracle: the expected value of the table's
   * one-sample column, with its standard error (the column moves by about 0.01 from one sampling
   * seed to the next, about as much as PPO moves it). The two models draw independently, from seeds
   * other than the table's.
   *
   * @param sftGrades {@link #sftSamples}: the SFT samples every estimate is measured against
   * @param sftRowScores the oracle scores of the table's SFT row, one per task in order
   */
  public static WinEstimates expectedWin(
      List<Task> tasks,
      Grade[][] sftGrades,
      Row otherRow,
      Path otherDir,
      double[] sftRowScores,
      Settings settings,
      PrintWriter log)
      throws IOException {
    int samples = sftGrades[0].length;
    var sftScores = scores(sftGrades);
    if (sftRowScores.length != tasks.size()) {
      throw new IllegalArgumentException(
          sftRowScores.length + " SFT row scores for " + tasks.size() + " tasks");
    }
    long t0 = System.nanoTime();
    try (var other = Checkpoint.loadModel(otherDir)) {
      var otherGrades = sampledGrades(other, tasks, samples, settings, settings.seed() + 1_001);
      var families = tasks.stream().map(t -> t.family().id()).toList();
      var rowDraw =
          Arrays.stream(sftRowScores)
              .mapToObj(score -> new double[] {score})
              .toArray(double[][]::new);
      var estimates =
          new WinEstimates(
              EvalTable.expectedWin(families, sftScores, scores(otherGrades)),
              EvalTable.expectedWin(families, sftScores, rowDraw),
              EvalTable.shares(otherGrades),
              EvalTable.shares(sftGrades),
              EvalTable.truthfulByObject(tasks, otherGrades),
              EvalTable.truthfulByObject(tasks, sftGrades));
      log.printf(
          Locale.ROOT,
          "eval: %d more sample%s per prompt from %s, scored in %.0f s%n",
          samples,
          samples == 1 ? "" : "s",
          otherRow.label,
          (System.nanoTime() - t0) / 1e9);
      log.flush();
      return estimates;
    }
  }

  /**
   * The headroom that rankings can teach (TASKS.md): the win vs SFT of SFT's best of {@code n}
   * samples per prompt, picked by the oracle (the ceiling) and by the reward model (what a perfect
   * optimiser of that reward model reaches), each against {@code n} fresh SFT samples; ties in the
   * pick go to the first sample.
   *
   * @param byRewardModel null when no reward model is given
   */
  public record Headroom(EvalTable.WinEstimate byOracle, EvalTable.WinEstimate byRewardModel) {}

  public static Headroom headroom(
      List<Task> tasks,
      double[][] opponents,
      Path sftDir,
      Path rmDir,
      Settings settings,
      PrintWriter log)
      throws IOException {
    long t0 = System.nanoTime();
    int n = opponents[0].length;
    try (var sft = Checkpoint.loadModel(sftDir);
        var rm = rmDir == null ? null : Checkpoint.loadRewardModel(rmDir, sft)) {
      var candidates = sampled(sft, tasks, n, settings, settings.seed() + 1_002);
      var oracle = scores(grades(tasks, candidates, n));
      double[][] rmScores = null;
      if (rm != null) {
        rmScores = new double[tasks.size()][n];
        // n samples of each prompt in one forward pass: as many prompts as MAX_SAMPLED_ROWS holds
        int perPass = Math.max(1, Math.min(settings.promptsPerBatch(), MAX_SAMPLED_ROWS / n));
        for (int from = 0; from < tasks.size(); from += perPass) {
          int to = Math.min(tasks.size(), from + perPass);
          var batchTasks = new ArrayList<Task>();
          for (int i = from; i < to; i++) for (int k = 0; k < n; k++) batchTasks.add(tasks.get(i));
          var scores = rewardScores(rm, batchTasks, candidates.subList(from * n, to * n));
          for (int j = 0; j < scores.length; j++) rmScores[from + j / n][j % n] = scores[j];
        }
      }
      var families = tasks.stream().map(t -> t.family().id()).toList();
      var byOracle = EvalTable.expectedWin(families, opponents, picked(oracle, oracle));
      var byRm =
          rmScores == null
              ? null
              : EvalTable.expectedWin(families, opponents, picked(oracle, rmScores));
      log.printf(
          Locale.ROOT,
          "eval: best of %d SFT samples per prompt picked and scored in %.0f s%n",
          n,
          (System.nanoTime() - t0) / 1e9);
      log.flush();
      return new Headroom(byOracle, byRm);
    }
  }

  /**
   * Per prompt, the oracle score of the candidate with the highest {@code by} score (the first of
   * equal ones), as a [task][1] draw.
   */
  static double[][] picked(double[][] oracle, double[][] by) {
    var out = new double[oracle.length][1];
    for (int i = 0; i < oracle.length; i++) {
      int best = 0;
      for (int k = 1; k < by[i].length; k++) if (by[i][k] > by[i][best]) best = k;
      out[i][0] = oracle[i][best];
    }
    return out;
  }

  /**
   * Oracle grades of {@code samples} fresh SFT responses per task, [task][sample]: what the win
   * estimates and the headroom are measured against, drawn once from seeds other than the table's.
   */
  public static Grade[][] sftSamples(
      List<Task> tasks, Path sftDir, Settings settings, int samples, PrintWriter log)
      throws IOException {
    if (samples < 1)
      throw new IllegalArgumentException("samples per prompt must be >= 1, got " + samples);
    long t0 = System.nanoTime();
    try (var sft = Checkpoint.loadModel(sftDir)) {
      var grades = sampledGrades(sft, tasks, samples, settings, settings.seed() + 1_000);
      log.printf(
          Locale.ROOT,
          "eval: %d more sample%s per prompt from SFT, scored in %.0f s%n",
          samples,
          samples == 1 ? "" : "s",
          (System.nanoTime() - t0) / 1e9);
      log.flush();
      return grades;
    }
  }

  /** {@code samples} responses to each task, task by task. */
  private static List<ResponseSampler.Sample> sampled(
      Gpt model, List<Task> tasks, int samples, Settings settings, long seed) {
    var prompts = new ArrayList<String>(tasks.size() * samples);
    for (var task : tasks) {
      for (int k = 0; k < samples; k++) prompts.add(task.prompt());
    }
    // each row draws from its own index's stream, so the batch changes no sample: only the memory
    int rows = (int) Math.min((long) settings.promptsPerBatch() * samples, MAX_SAMPLED_ROWS);
    return ResponseSampler.sample(
        model,
        prompts,
        settings.temperature(),
        seed,
        Math.max(rows, settings.promptsPerBatch()),
        false);
  }

  /** Rows sampled together for the extra samples: 8 each of the default 50 prompts fit. */
  static final int MAX_SAMPLED_ROWS = 512;

  private static Grade[][] grades(
      List<Task> tasks, List<ResponseSampler.Sample> drawn, int samples) {
    var grades = new Grade[tasks.size()][samples];
    for (int i = 0; i < tasks.size(); i++) {
      for (int k = 0; k < samples; k++) {
        var sample = drawn.get(i * samples + k);
        grades[i][k] = Oracle.grade(tasks.get(i), sample.response(), sample.terminated());
      }
    }
    return grades;
  }

  /** The oracle's scores of graded responses, [task][sample]. */
  public static double[][] scores(Grade[][] grades) {
    var scores = new double[grades.length][];
    for (int i = 0; i < grades.length; i++)
      scores[i] = Arrays.stream(grades[i]).mapToDouble(Grade::score).toArray();
    return scores;
  }

  /** Oracle grades of {@code samples} responses to each task, [task][sample]. */
  private static Grade[][] sampledGrades(
      Gpt model, List<Task> tasks, int samples, Settings settings, long seed) {
    return grades(tasks, sampled(model, tasks, samples, settings, seed), samples);
  }

  /**
   * Σ_t log π(y_t | its context) − log π_SFT(y_t | plain prompt) per response, at temperature 1.
   */
  static double[] klToSft(
      Gpt policy, Gpt sft, List<Task> tasks, List<ResponseSampler.Sample> samples) {
    var responses = samples.stream().map(ResponseSampler.Sample::tokens).toList();
    var policyPrompts = samples.stream().map(s -> ByteTokenizer.encode(s.prompt())).toList();
    var plainPrompts = tasks.stream().map(t -> ByteTokenizer.encode(t.prompt())).toList();
    double[] mine = sequenceLogProbs(policy, policyPrompts, responses);
    double[] theirs =
        policy == sft && policyPrompts.equals(plainPrompts)
            ? mine
            : sequenceLogProbs(sft, plainPrompts, responses);
    var kl = new double[mine.length];
    for (int i = 0; i < kl.length; i++) kl[i] = mine[i] - theirs[i];
    return kl;
  }

  /**
   * The reward model's score of each prompt + response (response bytes, then EOS when terminated).
   */
  static double[] rewardScores(
      RewardModel rm, List<Task> tasks, List<ResponseSampler.Sample> samples) {
    var prompts = tasks.stream().map(t -> ByteTokenizer.encode(t.prompt())).toList();
    var responses =
        samples.stream()
            .map(
                s -> {
                  var text = ByteTokenizer.encode(s.response());
                  return s.terminated() ? ByteTokenizer.withEos(text) : text;
                })
            .toList();
    return Gpt.withoutGradient(
        () -> {
          try (NDManager scope = scopeOf(rm.model())) {
            var values = rm.scores(ScoringBatch.of(scope, prompts, responses)).toFloatArray();
            var out = new double[values.length];
            for (int i = 0; i < out.length; i++) out[i] = values[i];
            return out;
          }
        });
  }

  static double[] sequenceLogProbs(Gpt model, List<int[]> prompts, List<int[]> responses) {
    return Gpt.withoutGradient(
        () -> {
          try (NDManager scope = scopeOf(model)) {
            var batch = ScoringBatch.of(scope, prompts, responses);
            var scores = model.score(batch, 1f);
            var sums = scores.logProbs().mul(scores.mask()).sum(new int[] {1}).toFloatArray();
            var out = new double[sums.length];
            for (int i = 0; i < out.length; i++) out[i] = sums[i];
            return out;
          }
        });
  }

  private static NDManager scopeOf(Gpt model) {
    return model.parameters().values().iterator().next().getManager().newSubManager();
  }
}
