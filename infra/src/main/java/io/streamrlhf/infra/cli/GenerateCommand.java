package io.streamrlhf.infra.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.streamrlhf.learner.eval.ResponseSampler;
import io.streamrlhf.model.ByteTokenizer;
import io.streamrlhf.model.checkpoint.Checkpoint;
import io.streamrlhf.tasks.Completion;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code rlhf generate}: responses of any checkpointed model to any prompts, in the input format of
 * {@code rlhf grade}.
 */
@Command(
    name = "generate",
    mixinStandardHelpOptions = true,
    showDefaultValues = true,
    description = {
      "Samples responses (at most 48 new tokens, KV cache, seeded) from a model checkpoint and writes one"
          + " {\"prompt\",\"response\",\"terminated\"} line per sample: the input of rlhf grade.",
      "Prompts file: JSON lines with a \"prompt\" field (as written by rlhf tasks eval-set / sample), or plain"
          + " text lines (each line is a prompt; its newline is added back; a line starting with {"
          + " (after any spaces) is read as JSON, so write such a prompt as {\"prompt\": ...}). Blank lines are skipped. An"
          + " instruction ends with a newline: a prompt without one gets it, unless --continue-text."
    })
final class GenerateCommand implements Callable<Integer> {
  private static final ObjectMapper JSON = new ObjectMapper();

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @Option(
      names = "--model",
      required = true,
      paramLabel = "DIR",
      description = "A directory written by rlhf pretrain, sft, ppo or learner.")
  Path model;

  @Option(
      names = "--prompts",
      required = true,
      paramLabel = "FILE",
      description = "Prompts: JSONL with \"prompt\", or plain text lines.")
  Path prompts;

  @Option(
      names = "--out",
      required = true,
      converter = TaskFiles.FileOption.class,
      paramLabel = "FILE.jsonl",
      description =
          "Where to write the responses (- for standard output); a file there is replaced once all is written.")
  Path out;

  @Option(
      names = "--temperature",
      defaultValue = "1.0",
      paramLabel = "T",
      description = "Sampling temperature (> 0).")
  float temperature;

  @Option(
      names = "--samples",
      defaultValue = "1",
      paramLabel = "N",
      description = "Responses per prompt.")
  int samples;

  @Option(
      names = "--seed",
      defaultValue = "0",
      paramLabel = "S",
      description =
          "Sampling seed. The i-th response draws from a stream of S and i alone: the batch size does not"
              + " change it, and two models given the same seed share their random numbers response by response.")
  long seed;

  @Option(
      names = "--prompts-per-batch",
      defaultValue = "50",
      paramLabel = "B",
      description =
          "Responses sampled together, a batch's rows (a prompt's --samples responses are rows of"
              + " their own).")
  int promptsPerBatch;

  @Option(
      names = "--stop-at-newline",
      description =
          "Cut each response at its first newline (how a base model is evaluated, TASKS.md).")
  boolean stopAtNewline;

  @Option(
      names = "--continue-text",
      description =
          "Give the model each prompt exactly as written, with no newline added: to have it continue"
              + " text (a base model and \"The sky is\") rather than answer an instruction.")
  boolean continueText;

  @Override
  public Integer call() throws Exception {
    StageOptions.requireTemperature(temperature);
    if (samples < 1) throw new UserError("--samples must be >= 1, got " + samples);
    if (promptsPerBatch < 1)
      throw new UserError("--prompts-per-batch must be >= 1, got " + promptsPerBatch);
    StageOptions.requireCheckpoint("--model", model, StageOptions.POLICIES);
    if (!Files.isRegularFile(prompts))
      throw new UserError("--prompts: " + TaskFiles.notAFile(prompts));
    TaskFiles.requireDistinct(out, "--prompts", prompts);
    var promptList = readPrompts(prompts, continueText);
    if (promptList.isEmpty()) throw new UserError(prompts + " holds no prompts");
    requireRoom(promptList, Checkpoint.modelConfig(model).contextLength());
    long responses = (long) promptList.size() * samples;
    if (responses > Integer.MAX_VALUE) {
      throw new UserError(
          String.format(
              "--samples %d for %d prompts would be %d responses, more than one run numbers"
                  + " (%d): split the prompts, or ask for fewer samples",
              samples, promptList.size(), responses, Integer.MAX_VALUE));
    }
    int total = (int) responses;
    var stdout = TaskFiles.lines(spec, out);
    try (var gpt = Checkpoint.loadModel(model);
        var file = TaskFiles.create(out)) {
      var writer = file.writer();
      // response i answers prompt i / samples; each batch is written as it comes, so memory does
      // not grow with --samples
      for (int from = 0, to; from < total; from = to) {
        to = (int) Math.min(total, (long) from + promptsPerBatch);
        var slice = new ArrayList<String>();
        for (int i = from; i < to; i++) slice.add(promptList.get(i / samples).text());
        for (var sample :
            ResponseSampler.sampleBatch(gpt, slice, from, temperature, seed, stopAtNewline)) {
          writer.write(responseLine(sample));
          writer.write('\n');
        }
        stdout.printf("generate: %d/%d responses%n", to, total);
        stdout.flush();
      }
      file.commit();
    }
    stdout.printf("generate: wrote %d response%s to %s%n", total, total == 1 ? "" : "s", out);
    stdout.flush();
    return 0;
  }

  /** Exactly {@code {"prompt","response","terminated"}}. */
  static String responseLine(ResponseSampler.Sample sample) throws IOException {
    var node = JSON.createObjectNode();
    node.put("prompt", sample.prompt());
    node.put("response", sample.response());
    node.put("terminated", sample.terminated());
    return JSON.writeValueAsString(node);
  }

  /** A prompt as the model gets it, and its file and line. */
  record Prompt(Path file, int line, String text) {}

  /**
   * Refuses, by file and line, the first prompt that leaves the model no room for a whole response:
   * the sampler would fail on the batch holding it, after the batches before it.
   */
  static void requireRoom(List<Prompt> prompts, int contextLength) {
    int room = contextLength - Completion.MAX_NEW_TOKENS;
    for (var p : prompts) {
      int tokens = ByteTokenizer.encode(p.text()).length;
      if (tokens > room) {
        throw new UserError(
            p.file()
                + ":"
                + p.line()
                + ": prompt of "
                + tokens
                + " tokens (UTF-8 bytes, as the model gets them) + "
                + Completion.MAX_NEW_TOKENS
                + " new tokens exceeds the model's context length "
                + contextLength
                + "; shorten it to at most "
                + room
                + " tokens");
      }
    }
  }

  /**
   * The prompts of a file: JSON lines with "prompt", or plain text lines. A line that is not UTF-8,
   * not JSON, or has no "prompt" string is the user's mistake, named by file:line. Each prompt ends
   * with the newline that closes an instruction, unless {@code asWritten}.
   */
  static List<Prompt> readPrompts(Path file, boolean asWritten) {
    var prompts = new ArrayList<Prompt>();
    try {
      Utf8Lines.forEach(
          file,
          line -> {
            String text;
            try {
              text = line.text();
            } catch (IllegalArgumentException e) {
              throw new UserError(file + ":" + line.number() + ": " + e.getMessage());
            }
            if (text.isBlank()) return;
            if (!text.stripLeading().startsWith("{")) {
              prompts.add(new Prompt(file, line.number(), asWritten ? text : text + "\n"));
              return;
            }
            JsonNode node;
            try {
              node = JSON.readTree(text);
            } catch (IOException e) {
              throw new UserError(
                  file
                      + ":"
                      + line.number()
                      + ": not JSON ("
                      + e.getMessage().lines().findFirst().orElse("")
                      + ")");
            }
            var prompt = node.get("prompt");
            if (prompt == null || !prompt.isTextual()) {
              throw new UserError(
                  file + ":" + line.number() + ": \"prompt\" missing or not a string");
            }
            var promptText = prompt.asText();
            if (asWritten && promptText.isEmpty()) {
              throw new UserError(
                  file + ":" + line.number() + ": \"prompt\" is empty: nothing to continue");
            }
            boolean closed = asWritten || promptText.endsWith("\n");
            prompts.add(new Prompt(file, line.number(), closed ? promptText : promptText + "\n"));
          });
    } catch (IOException e) {
      throw new UserError("--prompts: cannot read " + file + " (" + e + ")", e);
    }
    return prompts;
  }
}
