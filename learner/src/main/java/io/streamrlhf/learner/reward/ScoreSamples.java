package io.streamrlhf.learner.reward;

import io.streamrlhf.model.Gpt;
import io.streamrlhf.model.RewardModel;
import io.streamrlhf.model.checkpoint.Json;
import io.streamrlhf.tasks.SplitMix64;
import io.streamrlhf.tasks.Task;
import io.streamrlhf.tasks.TrainingPrompts;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The fixed SFT samples on which the reward trainer measures every version's score mean and std —
 * what PPO normalises rewards with ({@code Ppo.normalisedScore}), so each version's statistics
 * travel with it. Drawn once at the start of a run (one temperature-1 sample per training prompt,
 * as the offline stage's statistics are over SFT samples) and saved in {@value #FILE_NAME}, so a
 * resumed run measures on the same samples; their SFT log-likelihoods are stored with them, since
 * the SFT model never changes.
 */
public record ScoreSamples(List<int[]> prompts, List<int[]> responses, double[] sftLogLikelihoods) {
  public static final String FILE_NAME = "score-samples.json";

  public ScoreSamples {
    prompts = List.copyOf(prompts);
    responses = List.copyOf(responses);
    if (prompts.size() != responses.size() || responses.size() != sftLogLikelihoods.length) {
      throw new IllegalArgumentException("one prompt, response and log-likelihood per sample");
    }
  }

  /** {@code n} samples of {@code sft}, one per training prompt of {@code seed}. */
  public static ScoreSamples draw(Gpt sft, int n, long seed, String stage, PrintWriter out) {
    var prompts = new TrainingPrompts(seed);
    var tasks = new ArrayList<Task>(n);
    for (int i = 0; i < n; i++) tasks.add(prompts.next());
    var sampled =
        RewardStage.sample(
            sft,
            tasks,
            1,
            1.0,
            SplitMix64.stream(seed, "score-samples"),
            stage,
            out,
            System.nanoTime());
    var promptTokens = sampled.stream().map(RewardStage.SampledSet::prompt).toList();
    var responseTokens = sampled.stream().map(set -> set.responses().get(0)).toList();
    var likelihoods = RewardScoring.score(sft::sequenceLogLikelihood, promptTokens, responseTokens);
    return new ScoreSamples(promptTokens, responseTokens, likelihoods);
  }

  /**
   * Mean and std on the samples of the score head + w·log π_SFT(y|x), the head {@code
   * rewardModel}'s, w {@code likelihoodWeight}.
   */
  public Moments moments(Gpt rewardModel, double likelihoodWeight) {
    var head = RewardScoring.score(RewardModel.headOnly(rewardModel), prompts, responses);
    var scores = new ArrayList<Double>(head.length);
    for (int i = 0; i < head.length; i++) {
      scores.add(head[i] + likelihoodWeight * sftLogLikelihoods[i]);
    }
    return Moments.of(scores);
  }

  public static boolean exists(Path dir) {
    return Files.isRegularFile(dir.resolve(FILE_NAME));
  }

  /** Writes {@code dir/score-samples.json} atomically. */
  public void write(Path dir) throws IOException {
    Json.writeAtomically(this, dir.resolve(FILE_NAME));
  }

  public static ScoreSamples read(Path dir) throws IOException {
    return Json.MAPPER.readValue(dir.resolve(FILE_NAME).toFile(), ScoreSamples.class);
  }
}
