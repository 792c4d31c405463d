package io.streamrlhf.learner.reward;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.streamrlhf.learner.train.AdamW;
import io.streamrlhf.model.Gpt;
import io.streamrlhf.model.ScoringBatch;
import io.streamrlhf.model.WeightSnapshot;
import java.util.ArrayList;
import java.util.List;

/**
 * Trains a {@link Gpt} as a reward model (InstructGPT §3.5): its scalar head read at the last real
 * token ({@link Gpt#rewardScores}) is r_θ(x, y), and each optimizer step takes a batch of prompts
 * with all C(K,2) pairs of every prompt's K responses together, under {@link BradleyTerry#loss}.
 * Knows nothing of where rankings come from: the reward stage feeds it labeler rankings of SFT
 * samples, the tests a synthetic preference.
 */
public final class RewardTrainer implements AutoCloseable {
  /** Rows per no-gradient scoring pass, to bound memory when scoring many sets. */
  private static final int SCORING_ROWS = 128;

  private final Gpt model;
  private final AdamW optimizer;

  /** What one step saw, measured on the batch before the step. */
  public record Step(double loss, double accuracy, double gradNorm) {}

  public RewardTrainer(Gpt model, double adamBeta1, double adamBeta2, double weightDecay, double gradClipNorm) {
    this.model = model;
    model.requireGradients();
    this.optimizer = new AdamW(model, new AdamW.Settings(adamBeta1, adamBeta2, weightDecay, gradClipNorm));
  }

  /** One AdamW step on {@code batch} (every set the same K) at {@code learningRate}. */
  public Step step(List<RankedSet> batch, double learningRate) {
    int k = batch.get(0).k();
    var ranks = new int[batch.size()][];
    for (int p = 0; p < batch.size(); p++) {
      if (batch.get(p).k() != k) throw new IllegalArgumentException("every set of a batch needs the same K");
      ranks[p] = batch.get(p).ranks();
    }
    model.zeroGradients();
    double loss;
    double accuracy;
    try (NDManager scope = NDManager.newBaseManager("PyTorch");
        var collector = Engine.getEngine("PyTorch").newGradientCollector()) {
      var scores = scores(scope, batch).reshape(batch.size(), k);
      var lossArray = BradleyTerry.loss(scores, ranks);
      collector.backward(lossArray);
      loss = lossArray.getFloat();
      accuracy = BradleyTerry.accuracy(scores.stopGradient(), ranks);
    }
    double gradNorm = optimizer.step(learningRate);
    return new Step(loss, accuracy, gradNorm);
  }

  /** AdamW's moments, for the checkpoint. */
  public WeightSnapshot optimizerState() {
    return optimizer.state();
  }

  /** r_θ of every response of every set, [sets][K], without gradient. */
  public double[][] score(List<RankedSet> sets) {
    return score(model, sets);
  }

  /** r_θ of every response of every set under {@code rewardModel}, [sets][K], without gradient. */
  public static double[][] score(Gpt rewardModel, List<RankedSet> sets) {
    var out = new double[sets.size()][];
    int setsPerPass = Math.max(1, SCORING_ROWS / sets.get(0).k());
    for (int start = 0; start < sets.size(); start += setsPerPass) {
      var chunk = sets.subList(start, Math.min(sets.size(), start + setsPerPass));
      float[] flat = Gpt.withoutGradient(() -> {
        try (NDManager scope = NDManager.newBaseManager("PyTorch")) {
          return scoresOf(rewardModel, scope, chunk).toFloatArray();
        }
      });
      int offset = 0;
      for (int i = 0; i < chunk.size(); i++) {
        var row = new double[chunk.get(i).k()];
        for (int j = 0; j < row.length; j++) row[j] = flat[offset++];
        out[start + i] = row;
      }
    }
    return out;
  }

  /** Pairwise accuracy of the current scores against the sets' rankings (untied pairs). */
  public double accuracy(List<RankedSet> sets) {
    var ranks = sets.stream().map(RankedSet::ranks).toArray(int[][]::new);
    return BradleyTerry.accuracy(score(sets), ranks);
  }

  private NDArray scores(NDManager scope, List<RankedSet> sets) {
    return scoresOf(model, scope, sets);
  }

  /** Scores of every response, set by set, flattened to [Σ K]. */
  private static NDArray scoresOf(Gpt model, NDManager scope, List<RankedSet> sets) {
    var prompts = new ArrayList<int[]>();
    var responses = new ArrayList<int[]>();
    for (var set : sets) {
      for (var response : set.responses()) {
        prompts.add(set.prompt());
        responses.add(response);
      }
    }
    return model.rewardScores(ScoringBatch.of(scope, prompts, responses));
  }

  @Override
  public void close() {
    optimizer.close();
  }
}
