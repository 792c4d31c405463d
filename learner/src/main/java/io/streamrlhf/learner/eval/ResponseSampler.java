package io.streamrlhf.learner.eval;

import io.streamrlhf.model.ByteTokenizer;
import io.streamrlhf.model.Gpt;
import io.streamrlhf.tasks.Completion;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Samples one response per prompt from a model in batches with the KV cache, at most
 * {@link Completion#MAX_NEW_TOKENS} new tokens (TASKS.md "Text format"), seeded per batch so the
 * same model, prompts, seed and batch size give the same responses.
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
  public static List<Sample> sample(Gpt model, List<String> prompts, float temperature, long seed,
      int promptsPerBatch, boolean cutAtNewline) {
    if (promptsPerBatch < 1) throw new IllegalArgumentException("prompts per batch must be >= 1, got " + promptsPerBatch);
    var samples = new ArrayList<Sample>(prompts.size());
    for (int from = 0, batch = 0; from < prompts.size(); from += promptsPerBatch, batch++) {
      var slice = prompts.subList(from, Math.min(prompts.size(), from + promptsPerBatch));
      var encoded = slice.stream().map(ByteTokenizer::encode).toList();
      var sampling = new Gpt.Sampling(Completion.MAX_NEW_TOKENS, temperature, 0, seed * 1_000_003L + batch);
      var completions = model.generate(encoded, sampling);
      for (int i = 0; i < slice.size(); i++) {
        samples.add(toSample(slice.get(i), completions.get(i), cutAtNewline));
      }
    }
    return samples;
  }

  static Sample toSample(String prompt, Gpt.Completion completion, boolean cutAtNewline) {
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
