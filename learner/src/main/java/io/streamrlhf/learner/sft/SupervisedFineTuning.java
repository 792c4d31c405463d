package io.streamrlhf.learner.sft;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.streamrlhf.learner.config.SftConfig;
import io.streamrlhf.learner.train.ProgressLine;
import io.streamrlhf.learner.train.TrainingRun;
import io.streamrlhf.model.ByteTokenizer;
import io.streamrlhf.model.Gpt;
import io.streamrlhf.model.ScoringBatch;
import io.streamrlhf.model.checkpoint.Checkpoint;
import io.streamrlhf.tasks.Demonstration;
import io.streamrlhf.tasks.Demonstrations;
import io.streamrlhf.tasks.SplitMix64;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Supervised fine-tuning (InstructGPT §3.5 "SFT"): the base model trained on demonstrations —
 * prompt, then what the labeler wrote and end-of-sequence — with the loss on response tokens only.
 * The demonstrations are a fixed pool ({@link Demonstrations#pool}), walked epoch after epoch, each
 * epoch in a shuffle of its own (seed, epoch); the data position is the number consumed, so step s
 * trains on the same demonstrations in a resumed run as in an uninterrupted one.
 */
public final class SupervisedFineTuning {
  private SupervisedFineTuning() {}

  /** A point of the printed loss curve. */
  public record LossPoint(long step, double loss) {}

  /** The printed loss curve and mean throughput (real prompt + response tokens per second). */
  public record Result(List<LossPoint> lossCurve, double tokensPerSecond) {}

  /**
   * Fine-tunes the model in {@code base} into {@code out}, or continues {@code out} with {@code
   * resume}.
   */
  public static Result run(SftConfig config, Path base, Path out, boolean resume, PrintWriter log)
      throws IOException {
    return run(config, base, out, resume, log, Long.MAX_VALUE);
  }

  /**
   * The same with a halt after step {@code haltAfterStep} and no final checkpoint: a kill, for
   * resume tests.
   */
  public static Result run(
      SftConfig config, Path base, Path out, boolean resume, PrintWriter log, long haltAfterStep)
      throws IOException {
    var options =
        new TrainingRun.Options(
            config.stageName(),
            out,
            config.optimizer().schedule(config.steps()),
            config.optimizer().adam(),
            config.seed(),
            config.checkpointEverySteps());
    try (var run =
        resume
            ? TrainingRun.resume(options)
            : TrainingRun.start(options, Checkpoint.loadModel(base))) {
      if (resume) log.println("sft: resuming at step " + run.step() + " of " + config.steps());
      int perBatch = config.demonstrationsPerBatch();
      var pool = Demonstrations.pool(config.seed(), config.demonstrations());
      var extra = run.extra();
      extra.put(POOL_KEY, pool.size());
      run.setExtra(extra);
      log.printf(
          "sft: %d demonstrations (%s), %.1f epochs%n",
          pool.size(), kindShares(pool), config.epochs());
      var progress =
          new ProgressLine(log, config.stageName(), config.steps(), config.logEverySteps());
      var curve = new ArrayList<LossPoint>();
      while (run.step() < config.steps()) {
        var batch = batchAt(pool, config.seed(), run.dataPosition(), perBatch);
        var result = run.step(perBatch, scope -> responseLoss(run.model(), scope, batch));
        double mean = progress.record(result, tokens(batch));
        if (!Double.isNaN(mean)) curve.add(new LossPoint(result.step(), mean));
        if (run.step() == haltAfterStep) return new Result(curve, progress.meanTokensPerSecond());
      }
      run.finish();
      return new Result(curve, progress.meanTokensPerSecond());
    }
  }

  /** Extras key of the checkpoint's train state: the size of the pool the model was trained on. */
  public static final String POOL_KEY = "demonstration_pool";

  /**
   * The {@code size} demonstrations at data position {@code position}: position p is item p mod n
   * of epoch p / n's shuffle of the pool, so a batch may straddle two epochs.
   */
  static List<Demonstration> batchAt(List<Demonstration> pool, long seed, long position, int size) {
    var batch = new ArrayList<Demonstration>(size);
    int n = pool.size();
    long epoch = -1;
    int[] order = null;
    for (long p = position; p < position + size; p++) {
      if (p / n != epoch) {
        epoch = p / n;
        order = epochOrder(n, seed, epoch);
      }
      batch.add(pool.get(order[(int) (p % n)]));
    }
    return batch;
  }

  /** A Fisher-Yates shuffle of 0..n-1 from the stream (seed, epoch). */
  static int[] epochOrder(int n, long seed, long epoch) {
    var order = new int[n];
    for (int i = 0; i < n; i++) order[i] = i;
    var rng = SplitMix64.stream(seed, "sft-epoch-" + epoch);
    for (int i = n - 1; i > 0; i--) {
      int j = rng.nextInt(i + 1);
      int swap = order[i];
      order[i] = order[j];
      order[j] = swap;
    }
    return order;
  }

  /** "clean 0.70, chatter 0.15, slip 0.15": the pool's kinds, for the log. */
  private static String kindShares(List<Demonstration> pool) {
    var text = new StringBuilder();
    for (var kind : Demonstration.Kind.values()) {
      long count = pool.stream().filter(d -> d.kind() == kind).count();
      if (text.length() > 0) text.append(", ");
      text.append(
          String.format(java.util.Locale.ROOT, "%s %.3f", kind.id(), (double) count / pool.size()));
    }
    return text.toString();
  }

  /**
   * Mean negative log-likelihood per response token of the demonstrations (what the labeler wrote
   * then end-of-sequence) after their prompts; prompt tokens carry no loss.
   */
  public static NDArray responseLoss(
      Gpt model, NDManager scope, List<Demonstration> demonstrations) {
    var prompts = new ArrayList<int[]>(demonstrations.size());
    var responses = new ArrayList<int[]>(demonstrations.size());
    for (var demo : demonstrations) {
      prompts.add(ByteTokenizer.encode(demo.prompt()));
      responses.add(ByteTokenizer.withEos(ByteTokenizer.encode(demo.response())));
    }
    var batch = ScoringBatch.of(scope, prompts, responses);
    return batch.maskedMean(model.score(batch, 1f).logProbs()).neg();
  }

  /** {@link #responseLoss} without gradients, as a number: for evaluations and tests. */
  public static double meanResponseLoss(Gpt model, List<Demonstration> demonstrations) {
    var anyParameter = model.parameters().values().iterator().next();
    return Gpt.withoutGradient(
        () -> {
          try (var scope = anyParameter.getManager().newSubManager()) {
            return responseLoss(model, scope, demonstrations)
                .toType(DataType.FLOAT64, false)
                .getDouble();
          }
        });
  }

  private static long tokens(List<Demonstration> batch) {
    long n = 0;
    for (var demo : batch)
      n +=
          ByteTokenizer.encode(demo.prompt()).length
              + ByteTokenizer.encode(demo.response()).length
              + 1;
    return n;
  }
}
