package io.streamrlhf.learner.pretrain;

import ai.djl.ndarray.NDManager;
import io.streamrlhf.learner.config.PretrainConfig;
import io.streamrlhf.learner.train.InputError;
import io.streamrlhf.learner.train.ProgressLine;
import io.streamrlhf.learner.train.TrainingRun;
import io.streamrlhf.model.Gpt;
import io.streamrlhf.model.Gpt2Weights;
import io.streamrlhf.model.GptConfig;
import io.streamrlhf.model.ScoringBatch;
import io.streamrlhf.tasks.CorpusFile;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * The base model (InstructGPT's GPT-3 stand-in): next-token cross-entropy on corpus windows
 * (Radford et al. 2019), AdamW with warm-up + cosine and global-norm clipping. The output directory
 * is a {@link io.streamrlhf.model.checkpoint.Checkpoint}; the data position is the number of {@link
 * CorpusWindows} consumed.
 */
public final class Pretraining {
  private Pretraining() {}

  /** A point of the loss curve: the mean training loss of the steps up to {@code step}. */
  public record LossPoint(long step, double loss) {}

  /** What a run did: its printed loss curve and its mean throughput. */
  public record Result(List<LossPoint> lossCurve, double tokensPerSecond) {}

  /**
   * Trains (or, with {@code resume}, continues training) into {@code out}, printing progress on
   * {@code log}.
   */
  public static Result run(PretrainConfig config, Path out, boolean resume, PrintWriter log)
      throws IOException {
    return run(config, out, resume, log, null);
  }

  /**
   * The same; a new run from GPT-2-format weights starts from {@code loaded}, the model {@link
   * Gpt2Weights#load} made of {@code gpt2_weights} (the run takes it over), or loads it when null:
   * a caller that checked the file by loading it need not load it twice.
   */
  public static Result run(
      PretrainConfig config, Path out, boolean resume, PrintWriter log, Gpt loaded)
      throws IOException {
    if (loaded != null && (config.gpt2Weights().isEmpty() || resume)) {
      loaded.close();
      throw new IllegalArgumentException("weights loaded for a run that does not start from them");
    }
    if (config.gpt2Weights().isEmpty()) {
      return run(config, GptConfig.preset(config.shape()), out, resume, log, Long.MAX_VALUE);
    }
    if (resume)
      return train(config, null, out, true, log, Long.MAX_VALUE); // the checkpoint's model
    var dir = Path.of(config.gpt2Weights());
    GptConfig shape;
    Gpt model;
    try {
      shape = Gpt2Weights.shape(dir);
      requireFits(config, shape, "the GPT-2 weights' context length");
      model = loaded != null ? loaded : Gpt2Weights.load(dir);
    } catch (IllegalArgumentException | UncheckedIOException | ArithmeticException e) {
      if (loaded != null) loaded.close();
      // a file that is not the GPT-2 its config.json describes: the user's input, not our failure
      throw new InputError("gpt2_weights: " + e.getMessage());
    }
    log.printf(
        Locale.ROOT,
        "pretrain: from the GPT-2-format weights in %s: %,d parameters, d_model %d, %d layers,"
            + " context %d; %s%n",
        dir,
        model.parameterCount(),
        shape.dModel(),
        shape.layers(),
        shape.contextLength(),
        Gpt2Weights.inGpt2Vocabulary(dir)
            ? "its byte-level BPE's 256 byte tokens and <|endoftext|> kept as bytes and EOS"
            : "in this project's byte vocabulary");
    return train(config, model, out, false, log, Long.MAX_VALUE);
  }

  /**
   * Refuses windows longer than {@code shape}'s context, {@code what} naming it ("the tiny model's
   * context length"), with an {@link IllegalArgumentException}.
   */
  public static void requireFits(PretrainConfig config, GptConfig shape, String what) {
    if (config.tokensPerSequence() > shape.contextLength()) {
      throw new IllegalArgumentException(
          "tokens_per_sequence "
              + config.tokensPerSequence()
              + " exceeds "
              + what
              + " "
              + shape.contextLength());
    }
  }

  /**
   * The same with an explicit model shape, and a halt after step {@code haltAfterStep} that writes
   * no final checkpoint — what a kill at that step leaves behind (for resume tests).
   */
  public static Result run(
      PretrainConfig config,
      GptConfig shape,
      Path out,
      boolean resume,
      PrintWriter log,
      long haltAfterStep)
      throws IOException {
    requireFits(config, shape, "the " + config.shape() + " model's context length");
    var fresh = resume ? null : Gpt.create(shape, config.seed());
    return train(config, fresh, out, resume, log, haltAfterStep);
  }

  /**
   * The training loop.
   *
   * @param fresh the model a fresh run starts from (the run takes it over); null on resume
   */
  private static Result train(
      PretrainConfig config,
      Gpt fresh,
      Path out,
      boolean resume,
      PrintWriter log,
      long haltAfterStep)
      throws IOException {
    var options =
        new TrainingRun.Options(
            config.stageName(),
            out,
            config.optimizer().schedule(config.steps()),
            config.optimizer().adam(),
            config.seed(),
            config.checkpointEverySteps());
    try (var run = resume ? TrainingRun.resume(options) : TrainingRun.start(options, fresh)) {
      if (resume) log.println("pretrain: resuming at step " + run.step() + " of " + config.steps());
      var documents =
          config.corpus().isEmpty()
              ? CorpusWindows.builtIn(config.seed())
              : CorpusWindows.cycling(CorpusFile.read(Path.of(config.corpus())));
      var windows = CorpusWindows.at(documents, config.tokensPerSequence(), run.dataPosition());
      var progress =
          new ProgressLine(log, config.stageName(), config.steps(), config.logEverySteps());
      var curve = new ArrayList<LossPoint>();
      long tokensPerStep = (long) config.sequencesPerBatch() * config.tokensPerSequence();
      while (run.step() < config.steps()) {
        var batch = new ArrayList<int[]>(config.sequencesPerBatch());
        for (int i = 0; i < config.sequencesPerBatch(); i++) batch.add(windows.next());
        var result = run.step(batch.size(), scope -> nextTokenLoss(run.model(), scope, batch));
        double mean = progress.record(result, tokensPerStep);
        if (!Double.isNaN(mean)) curve.add(new LossPoint(result.step(), mean));
        if (run.step() == haltAfterStep) return new Result(curve, progress.meanTokensPerSecond());
      }
      run.finish();
      return new Result(curve, progress.meanTokensPerSecond());
    }
  }

  /**
   * Mean next-token negative log-likelihood over every window position after the first. Scores each
   * window as a one-token "prompt" and the rest as its "response", so the language-model loss runs
   * through the same {@link Gpt#score} path as SFT and PPO.
   */
  public static ai.djl.ndarray.NDArray nextTokenLoss(
      Gpt model, NDManager scope, List<int[]> windows) {
    var prompts = windows.stream().map(w -> Arrays.copyOf(w, 1)).toList();
    var continuations = windows.stream().map(w -> Arrays.copyOfRange(w, 1, w.length)).toList();
    var batch = ScoringBatch.of(scope, prompts, continuations);
    return model.score(batch, 1f).logProbs().mean().neg();
  }
}
