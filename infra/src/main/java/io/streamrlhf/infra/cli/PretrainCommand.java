package io.streamrlhf.infra.cli;

import io.streamrlhf.learner.config.ConfigLoader;
import io.streamrlhf.learner.config.PretrainConfig;
import io.streamrlhf.learner.pretrain.Pretraining;
import io.streamrlhf.model.Gpt;
import io.streamrlhf.model.Gpt2Weights;
import io.streamrlhf.model.GptConfig;
import io.streamrlhf.model.checkpoint.Checkpoint;
import io.streamrlhf.tasks.CorpusFile;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code rlhf pretrain}: the base model on the corpus. */
@Command(
    name = "pretrain",
    mixinStandardHelpOptions = true,
    showDefaultValues = true,
    description = {
      "Pretrains the base model on the corpus of docs/TASKS.md (documents as bytes + end-of-sequence):"
          + " next-token loss over windows of tokens_per_sequence tokens, AdamW, warm-up + cosine, global-norm clipping.",
      "Prints the derived sizes and the effective config, then progress (step, loss, tokens/s, ETA).",
      "Settings (--set key=value): shape, seed, steps, sequences_per_batch, tokens_per_sequence, learning_rate,"
          + " min_learning_rate, warmup_steps, weight_decay, adam_beta1, adam_beta2, grad_clip_norm,"
          + " log_every_steps, checkpoint_every_steps, corpus, gpt2_weights."
    })
final class PretrainCommand implements Callable<Integer> {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;
  @Mixin StageOptions stage;

  @Option(
      names = "--corpus",
      paramLabel = "FILE",
      description =
          "Pretrain on your own UTF-8 text instead of the built-in corpus: documents separated by a"
              + " line <|endoftext|> (as rlhf tasks corpus writes them; a file without one is one"
              + " document), read in order and over again. Sets corpus; a resume keeps it.")
  Path corpus;

  @Option(
      names = "--gpt2",
      paramLabel = "DIR",
      description =
          "Start from GPT-2-format weights instead of a random initialisation: a Hugging Face GPT-2"
              + " directory (config.json, model.safetensors in float32, float16 or bfloat16), in"
              + " GPT-2's byte-level BPE or in this project's 260 byte tokens (rlhf export-gpt2)."
              + " GPT-2's 256 byte tokens and <|endoftext|> become the bytes and EOS; it read merged"
              + " tokens, so the run continues its pretraining on bytes. The model takes the"
              + " weights' shape. Sets shape=gpt2 and gpt2_weights; a resume keeps them.")
  Path gpt2;

  @Override
  public Integer call() throws Exception {
    var out = spec.commandLine().getOut();
    var flags = new ArrayList<ConfigOptions.FlagSetting>();
    String given = null; // the SHA-256 of --corpus, read once
    if (corpus != null) {
      requireText(corpus, "--corpus");
      given = sha256(corpus, "--corpus");
      flags.add(
          new ConfigOptions.FlagSetting(
              "--corpus", "corpus=" + corpus.toAbsolutePath().normalize()));
      flags.add(new ConfigOptions.FlagSetting("--corpus", "corpus_sha256=" + given));
    }
    GptConfig gpt2Shape = null;
    Gpt loaded = null;
    if (gpt2 != null) {
      // --gpt2 stands for shape=gpt2 and wins over --config and --set: another shape they name
      // would be ignored (a preset's is its schedule's default and gives way)
      String asked;
      try {
        asked =
            ConfigLoader.load(
                    PretrainConfig.defaults(), stage.settings.file, stage.settings.overrides)
                .shape();
      } catch (IllegalArgumentException reportedBelow) {
        asked = PretrainConfig.GPT2; // a bad key or value: the config's own check names it
      }
      if (!asked.equals(PretrainConfig.GPT2) && !asked.equals(PretrainConfig.defaults().shape()))
        throw new UserError(
            "--gpt2 takes the shape of its weights (shape="
                + PretrainConfig.GPT2
                + "), and --config or --set asks for shape="
                + asked
                + ": drop that setting");
      if (Checkpoint.exists(gpt2)) {
        throw new UserError(
            "--gpt2: "
                + gpt2
                + " is a checkpoint of rlhf, not GPT-2-format weights: write them with rlhf"
                + " export-gpt2 --model "
                + gpt2
                + " --out DIR, and give that DIR");
      }
      try {
        gpt2Shape = Gpt2Weights.shape(gpt2); // config.json: a shape this model reproduces
      } catch (IllegalArgumentException e) {
        throw new UserError("--gpt2: " + e.getMessage(), e);
      }
      var weights = gpt2.resolve(Gpt2Weights.WEIGHTS);
      if (!Files.isRegularFile(weights))
        throw new UserError("--gpt2: " + gpt2 + " holds no " + Gpt2Weights.WEIGHTS);
      flags.add(new ConfigOptions.FlagSetting("--gpt2", "shape=" + PretrainConfig.GPT2));
      flags.add(
          new ConfigOptions.FlagSetting(
              "--gpt2", "gpt2_weights=" + gpt2.toAbsolutePath().normalize()));
      flags.add(
          new ConfigOptions.FlagSetting(
              "--gpt2", "gpt2_weights_sha256=" + sha256(weights, "--gpt2")));
    }
    var config = stage.config(PretrainConfig.defaults(), flags);
    if (!config.corpus().isEmpty() && given == null && !stage.resume) {
      // --set corpus= or a --config file's: kept as --corpus keeps it, absolute and with its
      // SHA-256, so a resume finds it from any directory and notices a change
      var file = Path.of(config.corpus());
      requireText(file, "corpus");
      given = sha256(file, "corpus");
      // the hash names this file only where both come from one place: a --config file's hash
      // names that file's corpus, not one --set names instead
      boolean sameSource = setHere("corpus") == setHere("corpus_sha256");
      if (sameSource && !config.corpusSha256().isEmpty() && !config.corpusSha256().equals(given)) {
        // a config.json of an earlier run names the file as it was then
        throw new UserError(
            "corpus "
                + file
                + " is not the file corpus_sha256 names (its SHA-256 is "
                + given
                + ", not "
                + config.corpusSha256()
                + "): give the corpus as it was, or the file as it is with --corpus "
                + file);
      }
      config =
          ConfigLoader.with(
              config, "corpus=" + file.toAbsolutePath().normalize(), "corpus_sha256=" + given);
    }
    if (!config.corpus().isEmpty() && given == null) {
      // a resume: the file the saved config names, as it is now
      var file = Path.of(config.corpus());
      requireText(file, "corpus");
      if (!config.corpusSha256().isEmpty()
          && !config.corpusSha256().equals(sha256(file, "corpus"))) {
        throw new UserError(
            "corpus "
                + file
                + " has changed since the run began (its SHA-256 is no longer "
                + config.corpusSha256()
                + "): resume with the file as it was, or start a new run in another --out");
      }
    }
    if (gpt2Shape != null) {
      try { // before --out is written; Pretraining checks it again for its library callers
        Pretraining.requireFits(config, gpt2Shape, "the --gpt2 weights' context length");
      } catch (IllegalArgumentException e) {
        throw new UserError(e.getMessage(), e);
      }
      // every tensor as config.json shapes it, read here: a mismatch found after --out is
      // written would leave a run that never began; the run starts from this very load
      if (!stage.resume) {
        try {
          loaded = Gpt2Weights.load(gpt2);
        } catch (IllegalArgumentException e) {
          throw new UserError("--gpt2: " + e.getMessage(), e);
        }
      }
    }
    Pretraining.Result result;
    try (var lock = stage.start(config, out);
        var notice = StopNotice.register("pretrain", stage.out, spec.commandLine().getErr())) {
      var start = loaded;
      loaded = null; // the run takes it over
      result = Pretraining.run(config, stage.out, stage.resume, out, start);
    } finally {
      if (loaded != null) loaded.close(); // --out refused: the run never took it
    }
    out.printf(
        Locale.ROOT,
        "pretrain: done, %s; base model in %s%n",
        StageOptions.rate(result.tokensPerSecond()),
        stage.out);
    StageOptions.sayIfLossRose(
        "pretrain",
        result.lossCurve(),
        Pretraining.LossPoint::step,
        Pretraining.LossPoint::loss,
        stage.out,
        out);
    out.flush();
    return 0;
  }

  /** Whether {@code key} was given with --set. */
  private boolean setHere(String key) {
    return stage.settings.overrides.stream()
        .anyMatch(
            set -> set.indexOf('=') > 0 && set.substring(0, set.indexOf('=')).strip().equals(key));
  }

  /** A corpus file must be there, UTF-8, and hold some text: else the user named the wrong one. */
  private static void requireText(Path file, String name) {
    if (!Files.isRegularFile(file)) throw new UserError(name + ": " + TaskFiles.notAFile(file));
    try {
      if (CorpusFile.read(file).stream().allMatch(String::isBlank))
        throw new UserError(name + " " + file + " holds no text");
    } catch (CharacterCodingException e) {
      throw new UserError(name + " " + file + " is not UTF-8 text" + where(file), e);
    } catch (IOException e) {
      throw new UserError(name + ": cannot read " + file + " (" + e + ")", e);
    }
  }

  /** At which line the text stops being UTF-8, with the advice; the advice alone if unreadable. */
  private static String where(Path file) {
    try {
      var at = Utf8Lines.firstNotUtf8(file);
      return at == null ? "; save it as UTF-8" : " at " + at;
    } catch (IOException e) {
      return "; save it as UTF-8";
    }
  }

  private static String sha256(Path file, String flag) {
    try (var in = Files.newInputStream(file)) {
      var digest = MessageDigest.getInstance("SHA-256");
      var buffer = new byte[1 << 16];
      for (int n; (n = in.read(buffer)) > 0; ) digest.update(buffer, 0, n);
      return HexFormat.of().formatHex(digest.digest());
    } catch (IOException e) {
      throw new UserError(flag + ": cannot read " + file + " (" + e + ")", e);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("every Java 17 runtime provides SHA-256", e);
    }
  }
}
