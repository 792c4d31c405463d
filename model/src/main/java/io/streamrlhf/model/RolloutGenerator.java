package io.streamrlhf.model;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The rollout side of PPO, shared by the in-process PPO stage and the rollout actors: samples K
 * responses per prompt from the policy (KV-cache generation, keeping the behaviour log-probs),
 * scores them under the frozen SFT reference and the reward model (raw score; normalisation is the
 * learner's), and returns one {@link Sample} per response. Never computes a gradient and never
 * writes a weight, so an actor runs it on its own copies of the three models.
 *
 * <p>Randomness is a function of the prompt's own seed only: each prompt carries a seed, and its K
 * responses draw from K streams split off that seed ({@link Generator#generate(List,
 * Generator.Sampling, long[])}). Which actor samples a prompt, and with which other prompts it
 * shares a batch, changes nothing: the streaming loop reproduces the in-process one.
 */
public final class RolloutGenerator {
  private final Gpt policy;
  private final Gpt reference;
  private final RewardFunction reward;
  private final int maxNewTokens;
  private final float temperature;

  /** A prompt to sample from, with the seed its K responses are drawn with. */
  public record SeededPrompt(int[] tokens, long seed) {}

  /**
   * One sampled, scored response.
   *
   * @param promptIndex position of its prompt in the list passed to {@link #sample}
   * @param sampleIndex 0..K-1 among that prompt's responses
   * @param behaviourLogProbs log π_behav of each response token, as sampled
   * @param refLogProbs log π_SFT of each response token, at the sampling temperature
   * @param rmScore the reward model's raw score
   * @param tokenVersions the policy version that sampled each response token (non-decreasing; all
   *     equal unless the policy changed in flight, see {@link Generator.Versions})
   */
  public record Sample(
      int promptIndex,
      int sampleIndex,
      int[] prompt,
      int[] response,
      float[] behaviourLogProbs,
      float[] refLogProbs,
      double rmScore,
      boolean terminated,
      long[] tokenVersions) {
    /** The oldest version in the response: what staleness bounds must use to stay conservative. */
    public long oldestVersion() {
      return tokenVersions[0];
    }
  }

  public RolloutGenerator(
      Gpt policy, Gpt reference, RewardFunction reward, int maxNewTokens, double temperature) {
    this.policy = policy;
    this.reference = reference;
    this.reward = reward;
    this.maxNewTokens = maxNewTokens;
    this.temperature = (float) temperature;
  }

  /** The policy being sampled (an actor loads new versions into it between batches). */
  public Gpt policy() {
    return policy;
  }

  /**
   * The seeds of a batch's prompts: prompt i of a batch drawn with {@code batchSeed} gets the i-th
   * draw of a stream seeded {@code batchSeed}. The learner stamps them on the prompts it publishes;
   * the in-process sampler derives them itself, so both sample alike.
   */
  public static long[] promptSeeds(long batchSeed, int count) {
    var stream = new SplittableRandom(batchSeed);
    var seeds = new long[count];
    for (int i = 0; i < count; i++) seeds[i] = stream.nextLong();
    return seeds;
  }

  /** {@code responsesPerPrompt} responses to each prompt, seeds from {@link #promptSeeds}. */
  public List<Sample> sample(List<int[]> prompts, int responsesPerPrompt, long batchSeed) {
    return sample(prompts, responsesPerPrompt, batchSeed, Generator.Versions.fixed(0));
  }

  /** {@link #sample(List, int, long)} with each token tagged by {@code versions}. */
  public List<Sample> sample(
      List<int[]> prompts, int responsesPerPrompt, long batchSeed, Generator.Versions versions) {
    var seeds = promptSeeds(batchSeed, prompts.size());
    var seeded = new ArrayList<SeededPrompt>(prompts.size());
    for (int i = 0; i < prompts.size(); i++) seeded.add(new SeededPrompt(prompts.get(i), seeds[i]));
    return sample(seeded, responsesPerPrompt, versions);
  }

  /** {@code responsesPerPrompt} responses to each prompt, in prompt order then sample order. */
  public List<Sample> sample(List<SeededPrompt> prompts, int responsesPerPrompt) {
    return sample(prompts, responsesPerPrompt, Generator.Versions.fixed(0));
  }

  /**
   * {@link #sample(List, int)} asking {@code versions} before every decode step which policy
   * version computes it; it may load a newer one into the policy then (an in-flight swap).
   */
  public List<Sample> sample(
      List<SeededPrompt> prompts, int responsesPerPrompt, Generator.Versions versions) {
    var rows = new ArrayList<int[]>(prompts.size() * responsesPerPrompt);
    var completions = generate(prompts, 0, responsesPerPrompt, rows, versions);
    var responses = completions.stream().map(Generator.Completion::tokens).toList();
    record Scored(float[] refLogProbs, float[] rmScores, int responseWidth) {}
    var scored =
        Gpt.withoutGradient(
            () -> {
              try (NDManager scope = ComputeDevice.scope()) {
                var batch = ScoringBatch.of(scope, rows, responses);
                // log π_SFT at the sampling temperature, so the KL compares like with like
                var refScores = reference.score(batch, temperature);
                var ref = refScores.logProbs().toFloatArray();
                // at temperature 1 they are also the likelihood a reward model's score may read
                var rm =
                    (temperature == 1f
                            ? reward.scores(batch, reference, refScores)
                            : reward.scores(batch))
                        .toType(DataType.FLOAT32, false)
                        .toFloatArray();
                return new Scored(ref, rm, batch.responseWidth());
              }
            });
    int width = scored.responseWidth();
    var samples = new ArrayList<Sample>(rows.size());
    for (int b = 0; b < rows.size(); b++) {
      var completion = completions.get(b);
      int length = completion.tokens().length;
      var refLogProbs = Arrays.copyOfRange(scored.refLogProbs(), b * width, b * width + length);
      samples.add(
          new Sample(
              b / responsesPerPrompt,
              b % responsesPerPrompt,
              rows.get(b),
              completion.tokens(),
              completion.behaviourLogProbs(),
              refLogProbs,
              scored.rmScores()[b],
              completion.terminated(),
              completion.tokenVersions()));
    }
    return samples;
  }

  /**
   * Responses {@code from} to {@code to − 1} of each prompt, unscored, in prompt order then sample
   * order: exactly those {@link #sample} draws at these sample indices (the same streams), so a
   * caller that needs more answers to a prompt than it sampled rollouts for (a label request) adds
   * fresh ones instead of repeating one.
   */
  public List<Generator.Completion> responses(List<SeededPrompt> prompts, int from, int to) {
    if (from < 0 || to < from) {
      throw new IllegalArgumentException("sample indices [" + from + ", " + to + ") are empty");
    }
    if (prompts.isEmpty() || from == to) return List.of();
    return generate(prompts, from, to, new ArrayList<>(), Generator.Versions.fixed(0));
  }

  /**
   * Samples sample indices [from, to) of every prompt, adding each row's prompt to {@code rows}.
   * Sample k of a prompt draws from the k-th stream split off the prompt's seed ({@link
   * SplittableRandom#split} is deterministic), whatever else is sampled with it.
   */
  private List<Generator.Completion> generate(
      List<SeededPrompt> prompts, int from, int to, List<int[]> rows, Generator.Versions versions) {
    var rowSeeds = new long[prompts.size() * (to - from)];
    for (var prompt : prompts) {
      var root = new SplittableRandom(prompt.seed());
      for (int k = 0; k < to; k++) {
        long seed = root.split().nextLong();
        if (k < from) continue;
        rowSeeds[rows.size()] = seed;
        rows.add(prompt.tokens());
      }
    }
    return new Generator(policy)
        .generate(
            rows, new Generator.Sampling(maxNewTokens, temperature, 0, 0), rowSeeds, versions);
  }
}
