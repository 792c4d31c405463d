package io.streamrlhf.learner.sft;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.streamrlhf.learner.config.SftConfig;
import io.streamrlhf.learner.train.AdamW;
import io.streamrlhf.learner.train.Checkpoint;
import io.streamrlhf.learner.train.ProgressLine;
import io.streamrlhf.learner.train.TrainingRun;
import io.streamrlhf.model.ByteTokenizer;
import io.streamrlhf.model.Gpt;
import io.streamrlhf.model.ScoringBatch;
import io.streamrlhf.tasks.Demonstrations;
import io.streamrlhf.tasks.Task;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Supervised fine-tuning (InstructGPT §3.5 "SFT"): the base model trained on demonstrations —
 * prompt, then the reference answer and end-of-sequence — with the loss on response tokens only.
 * Demonstrations are an endless seeded stream ({@link Demonstrations}); the data position is the
 * number consumed, so demonstration i is the same in a resumed run as in an uninterrupted one.
 */
public final class SupervisedFineTuning {
  private SupervisedFineTuning() {}

  /** A point of the printed loss curve. */
  public record LossPoint(long step, double loss) {}

  /** The printed loss curve and mean throughput (real prompt + response tokens per second). */
  public record Result(List<LossPoint> lossCurve, double tokensPerSecond) {}

  /** Fine-tunes the model in {@code base} into {@code out}, or continues {@code out} with {@code resume}. */
  public static Result run(SftConfig config, Path base, Path out, boolean resume, PrintWriter log) throws IOException {
    return run(config, base, out, resume, log, Long.MAX_VALUE);
  }

  /** The same with a halt after step {@code haltAfterStep} and no final checkpoint: a kill, for resume tests. */
  public static Result run(SftConfig config, Path base, Path out, boolean resume, PrintWriter log, long haltAfterStep)
      throws IOException {
    var options = new TrainingRun.Options(config.stageName(), out, config.learningRateSchedule(config.steps()),
        new AdamW.Settings(config.adamBeta1(), config.adamBeta2(), config.weightDecay(), config.gradClipNorm()),
        config.seed(), config.checkpointEverySteps());
    try (var run = resume ? TrainingRun.resume(options) : TrainingRun.start(options, Checkpoint.loadModel(base))) {
      if (resume) log.println("sft: resuming at step " + run.step() + " of " + config.steps());
      int perBatch = config.demonstrationsPerBatch();
      var demonstrations = Demonstrations.sample(config.seed(), Math.toIntExact((long) config.steps() * perBatch));
      var progress = new ProgressLine(log, config.stageName(), config.steps(), config.logEverySteps());
      var curve = new ArrayList<LossPoint>();
      while (run.step() < config.steps()) {
        int from = Math.toIntExact(run.dataPosition());
        var batch = demonstrations.subList(from, from + perBatch);
        var result = run.step(perBatch, scope -> responseLoss(run.model(), scope, batch));
        double mean = progress.record(result, tokens(batch));
        if (!Double.isNaN(mean)) curve.add(new LossPoint(result.step(), mean));
        if (run.step() == haltAfterStep) return new Result(curve, progress.meanTokensPerSecond());
      }
      run.checkpoint();
      return new Result(curve, progress.meanTokensPerSecond());
    }
  }

  /**
   * Mean negative log-likelihood per response token of the demonstrations (reference answer then
   * end-of-sequence) after their prompts; prompt tokens carry no loss.
   */
  public static NDArray responseLoss(Gpt model, NDManager scope, List<Task> demonstrations) {
    var prompts = new ArrayList<int[]>(demonstrations.size());
    var responses = new ArrayList<int[]>(demonstrations.size());
    for (var task : demonstrations) {
      prompts.add(ByteTokenizer.encode(task.prompt()));
      responses.add(ByteTokenizer.withEos(ByteTokenizer.encode(task.reference())));
    }
    var batch = ScoringBatch.of(scope, prompts, responses);
    return batch.maskedMean(model.score(batch, 1f).logProbs()).neg();
  }

  /** {@link #responseLoss} without gradients, as a number: for evaluations and tests. */
  public static double meanResponseLoss(Gpt model, List<Task> demonstrations) {
    var anyParameter = model.parameters().values().iterator().next();
    return Gpt.withoutGradient(() -> {
      try (var scope = anyParameter.getManager().newSubManager()) {
        return responseLoss(model, scope, demonstrations).toType(DataType.FLOAT64, false).getDouble();
      }
    });
  }

  private static long tokens(List<Task> batch) {
    long n = 0;
    for (var task : batch) n += ByteTokenizer.encode(task.prompt()).length + ByteTokenizer.encode(task.reference()).length + 1;
    return n;
  }
}
