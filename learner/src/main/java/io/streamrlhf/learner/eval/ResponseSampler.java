package io.streamrlhf.learner.eval;

import io.streamrlhf.model.ByteTokenizer;
import io.streamrlhf.model.Generator;
import io.streamrlhf.model.Gpt;
import io.streamrlhf.model.RolloutGenerator;
import io.streamrlhf.tasks.Completion;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Samples one response per prompt from a model in batches with the KV cache, at most {@link
 * Completion#MAX_NEW_TOKENS} new tokens (TASKS.md "Text format").
 *
 * <p>The i-th prompt draws from its own random stream, seeded by the seed and i alone, with
 * Gumbel-max draws ({@link Generator.TokenDraw#GUMBEL_MAX}). So a response does not depend on the
 * batch size, and two models sampled with the same seed use the same random numbers on the same
 * prompt (common random numbers): where a policy keeps the reference's likely tokens, it draws the
 * reference's sample. The table's win column compares the PPO row's sample with the SFT row's on
 * each prompt, and pairing them this way keeps part of the draws' luck out of that comparison.
 */
public final class ResponseSampler {
  private ResponseSampler() {}

  /**
   * One sampled response.
   *
   * @param response the text as graded: before end-of-sequence (and, for a base model, before the
   *     first newline)
   * @param terminated end-of-sequence (or, for a base model, a newline) came within the budget
   * @param tokens the sampled tokens the response stands for: up to and including the
   *     end-of-sequence or the cutting newline; what KL to another model is summed over
   */
  public record Sample(String prompt, String response, boolean terminated, int[] tokens) {}

  /**
   * Samples a response to every prompt.
   *
   * @param cutAtNewline the base-model rule of TASKS.md: a base model continues text, so its
   *     response ends at its first newline, as GPT-3's few-shot evaluation used stop sequences
   * @param promptsPerBatch how many prompts are sampled together
   */
  public static List<Sample> sample(
      Gpt model,
      List<String> prompts,
      float temperature,
      long seed,
      int promptsPerBatch,
      boolean cutAtNewline) {
    if (promptsPerBatch < 1)
      throw new IllegalArgumentException("prompts per batch must be >= 1, got " + promptsPerBatch);
    var samples = new ArrayList<Sample>(prompts.size());
    for (int from = 0; from < prompts.size(); from += promptsPerBatch) {
      var slice = prompts.subList(from, Math.min(prompts.size(), from + promptsPerBatch));
      samples.addAll(sampleBatch(model, slice, from, temperature, seed, cutAtNewline));
    }
    return samples;
  }

  /**
   * Samples the prompts in one batch, as prompts {@code firstIndex}, {@code firstIndex + 1}, … of a
   * longer list: each draws from the stream of its index.
   */
  public static List<Sample> sampleBatch(
      Gpt model,
      List<String> prompts,
      int firstIndex,
      float temperature,
      long seed,
      boolean cutAtNewline) {
    var encoded = prompts.stream().map(ByteTokenizer::encode).toList();
    var rowSeeds = promptSeeds(seed, firstIndex, prompts.size());
    var sampling =
        new Generator.Sampling(
            Completion.MAX_NEW_TOKENS, temperature, 0, seed, Generator.TokenDraw.GUMBEL_MAX);
    var completions = new Generator(model).generate(encoded, sampling, rowSeeds);
    var samples = new ArrayList<Sample>(prompts.size());
    for (int i = 0; i < prompts.size(); i++) {
      samples.add(toSample(prompts.get(i), completions.get(i), cutAtNewline));
    }
    return samples;
  }

  /**
   * The stream seeds of prompts {@code firstIndex} … {@code firstIndex + count − 1}: the rollout
   * actors' scheme ({@link RolloutGenerator#promptSeeds}), whose seeds are hashed. A plain {@code
   * seed·γ + index} would not do: SplittableRandom steps by the same γ, so seed s + 1's streams
   * would be seed s's shifted by one draw.
   */
  static long[] promptSeeds(long seed, int firstIndex, int count) {
    var all = RolloutGenerator.promptSeeds(seed, firstIndex + count);
    return Arrays.copyOfRange(all, firstIndex, firstIndex + count);
  }

  static Sample toSample(String prompt, Generator.Completion completion, boolean cutAtNewline) {
    var tokens = completion.tokens();
    if (cutAtNewline) {
      for (int i = 0; i < tokens.length; i++) {
        if (tokens[i] == '\n' || tokens[i] == ByteTokenizer.EOS) {
          var kept = Arrays.copyOf(tokens, i + 1);
          var text = ByteTokenizer.decode(Arrays.copyOf(tokens, i));
          return new Sample(prompt, text, true, kept);
        }
      }
      return new Sample(prompt, ByteTokenizer.decode(tokens), false, tokens);
    }
    return new Sample(prompt, ByteTokenizer.decode(tokens), completion.terminated(), tokens);
  }
}
