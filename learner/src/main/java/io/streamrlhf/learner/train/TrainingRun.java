package io.streamrlhf.learner.train;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.streamrlhf.model.AdamW;
import io.streamrlhf.model.Gpt;
import io.streamrlhf.model.Gradients;
import io.streamrlhf.model.WeightSnapshot;
import io.streamrlhf.model.checkpoint.Checkpoint;
import io.streamrlhf.tasks.SplitMix64;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.function.Function;

/**
 * One stage's optimisation loop state — model, AdamW, learning-rate schedule, random-number stream,
 * data position, step count and stage extras — and its checkpointing, so that every trainer
 * (pretrain, SFT, reward, PPO) resumes the same way.
 *
 * <p>A trainer builds batches from {@link #dataPosition()} and {@link #rng()}, then calls {@link
 * #step} with how many examples the batch consumed and a function computing the loss in a scope the
 * run opens: the run zeroes gradients, opens the JVM's one GradientCollector, runs the loss and its
 * backward pass, clips and applies AdamW at the schedule's rate, advances the counters and, every
 * {@code checkpointEverySteps}, writes a {@link Checkpoint}. Because data, randomness and the
 * schedule are functions of the saved positions, a run killed after any checkpoint and {@link
 * #resume}d ends with the weights an uninterrupted run would have.
 */
public final class TrainingRun implements AutoCloseable {

  /**
   * What a run needs besides its model.
   *
   * @param stage the stage name written into the train state and checked on resume
   * @param dir the output (= checkpoint) directory
   * @param schedule learning rate per optimizer step
   * @param optimizer AdamW settings
   * @param seed seeds {@link #rng()} on a fresh start
   * @param checkpointEverySteps period of automatic checkpoints, in optimizer steps
   */
  public record Options(
      String stage,
      Path dir,
      LearningRateSchedule schedule,
      AdamW.Settings optimizer,
      long seed,
      int checkpointEverySteps) {
    public Options {
      if (checkpointEverySteps < 1)
        throw new IllegalArgumentException("checkpoint period must be >= 1 step");
    }
  }

  /** What one optimizer step did. */
  public record StepResult(long step, double loss, double gradNorm, double learningRate) {}

  private final Options options;
  private final Gpt model;
  private final AdamW optimizer;
  private SplitMix64 rng;
  private TrainState state;
  private boolean saved; // the checkpoint in force holds the state as it is now

  private TrainingRun(Options options, Gpt model, TrainState state, boolean saved) {
    this.options = options;
    this.saved = saved;
    this.model = model;
    this.optimizer = new AdamW(model, options.optimizer());
    this.state = state;
    this.rng = SplitMix64.restore(state.rng());
    model.requireGradients();
  }

  /** A fresh run training {@code model} (the run takes ownership and closes it). */
  public static TrainingRun start(Options options, Gpt model) {
    return new TrainingRun(
        options, model, TrainState.start(options.stage(), options.seed()), false);
  }

  /** Continues from the checkpoint in force in {@code options.dir()}. */
  public static TrainingRun resume(Options options) throws IOException {
    var saved = Checkpoint.read(options.dir(), options.stage(), TrainState.class);
    var model = Gpt.create(saved.modelConfig(), 0);
    model.load(saved.weights());
    var run = new TrainingRun(options, model, saved.state(), true);
    run.optimizer.restore(saved.optimizer());
    return run;
  }

  public Gpt model() {
    return model;
  }

  /** The stage's random-number stream; its position is part of every checkpoint. */
  public SplitMix64 rng() {
    return rng;
  }

  /** Optimizer steps completed. */
  public long step() {
    return state.step();
  }

  /** The next example (in the stage's own unit) to read. */
  public long dataPosition() {
    return state.dataPosition();
  }

  /** A copy of the stage extras as last set. */
  public ObjectNode extra() {
    return state.extraCopy();
  }

  /** Replaces the stage extras (saved with the next checkpoint). */
  public void setExtra(ObjectNode extra) {
    // the same extras a resume read back leave the checkpoint in force as it is: a finished run
    // resumed must not write its last checkpoint again
    if (extra.equals(state.extra())) return;
    state =
        new TrainState(
            state.stage(),
            state.step(),
            state.dataPosition(),
            rng.state(),
            state.scheduleStep(),
            extra);
    saved = false;
  }

  /**
   * One optimizer step on the loss {@code lossFunction} computes (a scalar, to be minimised) in a
   * scope that is closed afterwards.
   *
   * @param examplesConsumed how far the data position moves: the batch's size in the stage's unit
   */
  public StepResult step(long examplesConsumed, Function<NDManager, NDArray> lossFunction) {
    double learningRate = options.schedule().at(state.scheduleStep());
    double loss;
    model.zeroGradients();
    var parameters = model.parameters().values().iterator().next();
    try (var scope = parameters.getManager().newSubManager();
        var collector = Gradients.collector()) {
      var lossValue = lossFunction.apply(scope);
      collector.backward(lossValue);
      loss = lossValue.toType(DataType.FLOAT64, false).getDouble();
    }
    double gradNorm = optimizer.step(learningRate);
    state =
        state.advance(
            state.step() + 1,
            state.dataPosition() + examplesConsumed,
            rng,
            state.scheduleStep() + 1,
            state.extra());
    saved = false;
    if (state.step() % options.checkpointEverySteps() == 0) checkpoint();
    return new StepResult(state.step(), loss, gradNorm, learningRate);
  }

  /**
   * Saves weights, optimizer, schedule position, RNG and data position together, atomically;
   * returns the weights it wrote (version = step), for a trainer that publishes them.
   */
  public WeightSnapshot checkpoint() {
    state =
        state.advance(state.step(), state.dataPosition(), rng, state.scheduleStep(), state.extra());
    var weights = model.snapshot(state.step());
    try {
      Checkpoint.write(options.dir(), model.config(), weights, optimizer.state(), state);
    } catch (IOException e) {
      throw new UncheckedIOException(e.getMessage(), e); // it names the step and directory
    }
    saved = true;
    return weights;
  }

  /**
   * The run's last checkpoint, unless the one in force already holds this state (the last step fell
   * on the checkpoint period): a second copy would cost a full write of weights and optimizer.
   */
  public void finish() {
    if (!saved) checkpoint();
  }

  @Override
  public void close() {
    optimizer.close();
    model.close();
  }
}
