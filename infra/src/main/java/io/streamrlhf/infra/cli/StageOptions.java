package io.streamrlhf.infra.cli;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.streamrlhf.infra.stream.LiveLoop;
import io.streamrlhf.learner.config.ConfigLoader;
import io.streamrlhf.learner.config.StageConfig;
import io.streamrlhf.learner.train.TrainState;
import io.streamrlhf.model.checkpoint.Checkpoint;
import io.streamrlhf.model.checkpoint.Json;
import io.streamrlhf.model.checkpoint.OutputLock;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * The options every training stage shares (a picocli mixin): where the checkpoint goes, the config
 * file and {@code --set} overrides, {@code --resume} (or {@code --resume-if-present}), and the
 * device the models run on.
 *
 * <p>The --out/--resume rule, the same for every stage: a run starts only in an --out that holds no
 * checkpoint and no other program's or stage's config.json, and --resume continues only the
 * checkpoint of the same stage in --out; anything else is the user's mistake, refused before a file
 * is written. A run locks --out while it writes there, so a second one is refused.
 */
final class StageOptions {
  @Option(
      names = "--out",
      required = true,
      paramLabel = "DIR",
      description = "Output directory: checkpoints (weights, optimizer, train state), config.json.")
  Path out;

  @Mixin ConfigOptions settings;

  @Mixin DeviceOption device;

  @Option(
      names = "--resume",
      description =
          "Continue the run checkpointed in --out: its config.json is the base, which --preset,"
              + " --config and --set change (not in what defines its model or data).")
  boolean resume;

  @Option(
      names = "--resume-if-present",
      description =
          "Continue the run checkpointed in --out if it holds one, else start afresh: for a"
              + " supervisor (docker compose's restart, systemd) that restarts a crashed process"
              + " with the same command.")
  boolean resumeIfPresent;

  /**
   * The effective config, checked against the output directory's state, with this process's models
   * put on --device; writes nothing, so a command can check its inputs before {@link #start} writes
   * into --out.
   *
   * @param flagOverrides the settings other flags of the command stand for
   */
  <T extends StageConfig> T config(T defaults, List<ConfigOptions.FlagSetting> flagOverrides) {
    device.use(); // before any model loads
    if (resumeIfPresent && !resume) resume = Checkpoint.exists(out);
    requireNotAFile("--out", out);
    // inside another run's checkpoint, a resume of that run would prune it with its step
    // directories
    var parent = out.toAbsolutePath().normalize().getParent();
    if (parent != null) TaskFiles.requireOutsideCheckpoints(out, parent);
    if (resume && !Checkpoint.exists(out)) {
      throw new UserError(
          "--resume: " + out + " holds no checkpoint to continue; drop --resume to start afresh");
    }
    if (!resume && Checkpoint.exists(out)) {
      String stage;
      try {
        stage = Checkpoint.trainState(out, TrainState.class).stage();
      } catch (IOException | RuntimeException e) {
        throw new UserError(
            out + " already holds a checkpoint, one that cannot be read: choose another --out", e);
      }
      if (stage.equals(defaults.stageName())) {
        // its run still writing there: "pass --resume" would only meet its lock
        try (var probe = OutputLock.acquire(out)) {
          // free: the checkpoint is a stopped run's
        } catch (OutputLock.HeldException held) {
          lock("--out", out, stage + " run"); // refuses, naming the holder
        } catch (IOException cannotTell) {
          // a directory that cannot be locked (read-only): the refusal below stands
        }
      }
      // a live run's (its figures beside it) cannot be continued: --resume would be refused
      boolean live = Files.isRegularFile(out.resolve(LiveLoop.FILE));
      throw new UserError(
          out
              + " already holds a "
              + stage
              + " checkpoint: "
              + (!stage.equals(defaults.stageName())
                  ? "choose another --out"
                  : live
                      ? "a live run's, which cannot be continued: choose another --out and --rm-out"
                      : "pass --resume to continue it, or choose another --out"));
    }
    var saved = out.resolve(ConfigLoader.FILE_NAME);
    if (!resume) requireNoForeignConfig(defaults, saved);
    if (resume) {
      var stage = savedState().stage();
      if (!stage.equals(defaults.stageName())) {
        throw new UserError(
            "--resume: "
                + out
                + " holds a "
                + stage
                + " checkpoint, not a "
                + defaults.stageName()
                + " one: give the --out of the "
                + defaults.stageName()
                + " run to continue");
      }
    }
    if (resume && !Files.isRegularFile(saved))
      // the run's own settings are unknown: the defaults would train its weights as another run
      throw new UserError(
          "--resume: "
              + out
              + " has no "
              + saved.getFileName()
              + ", the settings its run began with: restore it from a copy, or start a new run in"
              + " another --out");
    var config = settings.load(defaults, resume ? saved : null, flagOverrides);
    if (resume) requireKept(config, saved);
    if (resume) requireNotPast(config);
    return config;
  }

  /**
   * A resumed run cannot end before the step its checkpoint is at: it would take no step, and its
   * config.json would then claim a shorter run than its weights had.
   */
  private void requireNotPast(StageConfig config) {
    long done = savedState().step();
    config
        .length()
        .filter(length -> length.steps() < done)
        .ifPresent(
            length -> {
              throw new UserError(
                  "--resume: "
                      + out
                      + " holds step "
                      + done
                      + ", and "
                      + length.key()
                      + "="
                      + length.value()
                      + " ends the run at step "
                      + length.steps()
                      + ": resume with the run's own value or a larger one");
            });
  }

  /**
   * A fresh start writes its config.json (and checkpoints) into --out: it refuses a config.json
   * that is not this stage's, another program's (a GPT-2 export's, say) or another stage's, which
   * it would overwrite. One of this stage's is what a run stopped before its first checkpoint left,
   * and other files stay as they are (a log the user tees there, a volume's lost+found).
   */
  private void requireNoForeignConfig(StageConfig defaults, Path saved) {
    if (!Files.isRegularFile(saved)) return;
    try {
      ConfigLoader.load(defaults, saved, List.of());
    } catch (IllegalArgumentException notOurs) {
      throw new UserError(
          "--out "
              + out
              + " holds a config.json that is not a "
              + defaults.stageName()
              + " run's ("
              + notOurs.getMessage().lines().findFirst().orElse("")
              + "): give an empty or new directory");
    }
  }

  /** A resume that would change the run's model or data ({@link StageConfig#keptOnResume}). */
  private void requireKept(StageConfig config, Path saved) {
    JsonNode was;
    JsonNode now;
    try {
      was = JSON.readTree(saved.toFile());
      now = JSON.readTree(ConfigLoader.toJson(config));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read " + saved, e);
    }
    var changed = new ArrayList<String>();
    for (var key : config.keptOnResume()) {
      if (was.has(key) && !was.get(key).equals(now.get(key))) {
        changed.add(key + " " + was.get(key).asText() + " -> " + now.get(key).asText());
      }
    }
    if (!changed.isEmpty()) {
      throw new UserError(
          "--resume: "
              + out
              + " was trained with other settings that define its model or data ("
              + String.join(", ", changed)
              + "): resume with the run's own values, or start a new run in another --out");
    }
  }

  private static final ObjectMapper JSON = new ObjectMapper();

  /** The file in --out that names the input models a run began with. */
  static final String INPUTS_FILE = "inputs.json";

  /** What {@link #INPUTS_FILE} says of one input model. */
  record Input(String path, String weightsSha256) {}

  private final Map<String, Input> inputs = new LinkedHashMap<>();

  /**
   * An input model the run reads beyond its start ({@code flag}'s value: the reference policy, the
   * reward model), recorded in --out by {@link #start}. On --resume it must hold the weights the
   * run began with: another one would change the run's reference or reward halfway, silently.
   */
  void input(String flag, Path dir) {
    var was = resume ? recordedInputs().get(flag) : null;
    String sha;
    try {
      sha = Checkpoint.weightsSha256(dir);
    } catch (IOException | RuntimeException e) {
      // the model's load reports what is wrong with it, in the command's own words; the record
      // stays as it was
      if (was != null) inputs.put(flag, was);
      return;
    }
    if (was != null && !was.weightsSha256().equals(sha)) {
      throw new UserError(
          "--resume: "
              + out
              + " began with "
              + flag
              + " "
              + was.path()
              + ", and "
              + dir
              + " holds other weights (SHA-256 "
              + sha.substring(0, 12)
              + "…, not "
              + was.weightsSha256().substring(0, 12)
              + "…): resume with the run's own "
              + flag
              + ", or start a new run in another --out");
    }
    inputs.put(flag, new Input(dir.toAbsolutePath().normalize().toString(), sha));
  }

  /**
   * Refuses a reward model trained on another SFT model than {@code --sft}'s, as its own {@link
   * #INPUTS_FILE} records it: its score's likelihood term and its score statistics are that
   * model's. A reward model whose directory records none (one written by a program) passes. Call
   * after {@link #input} gave the SFT model.
   */
  void requireRewardModelOf(Path rm) {
    requireRewardModelOf(rm, inputs.get("--sft"));
  }

  /**
   * The same for a command that keeps no run of its own ({@code chaos}): {@code sft} is the
   * checkpoint its processes are given as --sft.
   */
  static void requireRewardModelOf(Path rm, Path sft) {
    try {
      var sha = Checkpoint.weightsSha256(sft);
      requireRewardModelOf(rm, new Input(sft.toAbsolutePath().normalize().toString(), sha));
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the SFT model in " + sft, e);
    }
  }

  private static void requireRewardModelOf(Path rm, Input sft) {
    var trainedOn = recordedInputs(rm.resolve(INPUTS_FILE)).get("--sft");
    if (sft == null || trainedOn == null || trainedOn.weightsSha256().equals(sft.weightsSha256()))
      return;
    throw new UserError(
        "--rm "
            + rm
            + " was trained on the SFT model in "
            + trainedOn.path()
            + " (SHA-256 "
            + trainedOn.weightsSha256().substring(0, 12)
            + "…), not on --sft "
            + sft.path()
            + " ("
            + sft.weightsSha256().substring(0, 12)
            + "…): its score's likelihood term and statistics are that model's; train a reward"
            + " model on this one (rlhf reward --sft "
            + sft.path()
            + " --out DIR)");
  }

  /**
   * Where the run in {@code dir} recorded another SFT model than {@code sft} as its --sft (its
   * {@link #INPUTS_FILE}): that model's path; null when it recorded this one, or none.
   */
  static String otherSftOf(Path dir, Path sft) {
    var trainedOn = recordedInputs(dir.resolve(INPUTS_FILE)).get("--sft");
    if (trainedOn == null) return null;
    try {
      return trainedOn.weightsSha256().equals(Checkpoint.weightsSha256(sft))
          ? null
          : trainedOn.path();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the SFT model in " + sft, e);
    }
  }

  /** The inputs --out's run began with; none for a run saved before they were recorded. */
  private Map<String, Input> recordedInputs() {
    return recordedInputs(out.resolve(INPUTS_FILE));
  }

  private static Map<String, Input> recordedInputs(Path file) {
    if (!Files.isRegularFile(file)) return Map.of();
    try {
      return Json.MAPPER.readValue(file.toFile(), new TypeReference<Map<String, Input>>() {});
    } catch (IOException e) {
      throw new UserError(file + " does not parse (" + e.getMessage() + ")", e);
    }
  }

  /**
   * Locks --out for this run ({@link OutputLock}), then prints the effective config and saves it as
   * --out's config.json, with the inputs given to {@link #input}: the start of a run. The caller
   * holds the lock until the run ends: a second run into the same --out would mix its checkpoints
   * and config with this one's.
   *
   * @param writer what the run is, for the refusal of a second one ("learner", "sft run")
   * @throws UserError when another process holds --out
   */
  StartedRun start(StageConfig config, PrintWriter log, String writer) {
    var lock = lock("--out", out, writer);
    try {
      return new StartedRun(lock, out, save(config, log));
    } catch (RuntimeException e) {
      try {
        lock.close();
      } catch (IOException ignored) {
        // the start already failed; that is what the user sees
      }
      throw e;
    }
  }

  /**
   * A run's hold on --out from its start: closed when the run ends, it releases the lock, and where
   * the run wrote no checkpoint (refused or failed before its first) it takes back the files its
   * start wrote, as written, so --out is left as it was found rather than as a run that never
   * began, which another stage would take for another program's.
   */
  static final class StartedRun implements AutoCloseable {
    private final OutputLock lock;
    private final Path out;
    private final Map<Path, byte[]> written;

    private StartedRun(OutputLock lock, Path out, Map<Path, byte[]> written) {
      this.lock = lock;
      this.out = out;
      this.written = written;
    }

    @Override
    public void close() throws IOException {
      try {
        if (!Checkpoint.exists(out)) {
          for (var file : written.entrySet()) {
            try {
              if (java.util.Arrays.equals(Files.readAllBytes(file.getKey()), file.getValue()))
                Files.delete(file.getKey());
            } catch (IOException leftAsItIs) {
              // the run's own failure is what the user sees
            }
          }
        }
      } finally {
        lock.close();
      }
    }
  }

  /**
   * Locks the output directory {@code flag} names for this process ({@link OutputLock}).
   *
   * @param writer what writes there, for the refusal of a second one ("learner", "sft run")
   * @throws UserError when another process holds it, or it cannot be locked
   */
  static OutputLock lock(String flag, Path dir, String writer) {
    try {
      return OutputLock.acquire(dir);
    } catch (OutputLock.HeldException e) {
      throw new UserError(
          String.format(
              "%s %s is in use by another %s (%s holds %s): one %s per output directory; stop"
                  + " it, or choose another %s",
              flag, dir, writer, e.holder(), OutputLock.FILE, writer, flag));
    } catch (IOException e) {
      // with its cause: a read-only or full disk is the machine's failure (exit 4)
      throw new UserError(
          "cannot lock " + flag + " " + dir + " (" + e + "): choose another " + flag, e);
    }
  }

  /** {@link #start} for a stage named by its config: "another sft run". */
  StartedRun start(StageConfig config, PrintWriter log) {
    return start(config, log, config.stageName() + " run");
  }

  /** Saves config.json (and the inputs) in --out; returns the files written, with their bytes. */
  private Map<Path, byte[]> save(StageConfig config, PrintWriter log) {
    log.println(ConfigLoader.describe(config));
    log.flush();
    try {
      var written = new java.util.LinkedHashMap<Path, byte[]>();
      ConfigLoader.save(config, out);
      var configFile = out.resolve(ConfigLoader.FILE_NAME);
      written.put(configFile, Files.readAllBytes(configFile));
      if (!inputs.isEmpty()) {
        Json.writeAtomically(inputs, out.resolve(INPUTS_FILE));
        written.put(out.resolve(INPUTS_FILE), Files.readAllBytes(out.resolve(INPUTS_FILE)));
      }
      return written;
    } catch (IOException e) {
      throw new UserError(
          "cannot write "
              + out.resolve(ConfigLoader.FILE_NAME)
              + " ("
              + e
              + "): choose another --out",
          e);
    }
  }

  /** Refuses a directory flag that names an existing file: nothing could be written in it. */
  static void requireNotAFile(String flag, Path dir) {
    if (Files.exists(dir) && !Files.isDirectory(dir))
      throw new UserError(flag + " " + dir + " is a file: give a directory");
  }

  /**
   * Creates the output directory {@code out} of a command that writes its files only at the end,
   * and checks that a file can be made there: a refusal then comes before the work, not after it.
   */
  static void requireWritable(Path out) {
    requireWritable("--out", out);
  }

  /** {@link #requireWritable(Path)} for the directory {@code flag} names. */
  static void requireWritable(String flag, Path dir) {
    try {
      Files.createDirectories(dir);
      Files.deleteIfExists(Files.createTempFile(dir, ".rlhf-", ".tmp"));
    } catch (IOException e) {
      throw new UserError(
          "cannot write in "
              + flag
              + " "
              + dir
              + " ("
              + TaskFiles.reason(e)
              + "): choose another "
              + flag,
          e);
    }
  }

  /** A finished run's throughput; a resume of a finished run takes no step, and has none. */
  static String rate(double tokensPerSecond) {
    return tokensPerSecond > 0
        ? String.format(java.util.Locale.ROOT, "%,.0f tokens/s", tokensPerSecond)
        : "no step left to take";
  }

  /**
   * A warning for a run whose printed loss ended more than 10% above where it began (a
   * cross-entropy, so positive): finite, so no divergence check stopped it, yet the model it wrote
   * is likely worse than its start; null when the loss fell, held or rose less.
   */
  static String lossRose(
      String stage, long firstStep, double first, long lastStep, double last, Path out) {
    if (!(last > 1.1 * first)) return null;
    return String.format(
        java.util.Locale.ROOT,
        "%s: the loss rose from %.4f at step %d to %.4f at step %d: the model in %s is likely"
            + " worse than its start; a learning_rate too high does this (lower it with --set"
            + " learning_rate=... and run again)",
        stage,
        first,
        firstStep,
        last,
        lastStep,
        out);
  }

  /** Prints {@link #lossRose}'s warning for a printed loss curve of points {@code P}, if any. */
  static <P> void sayIfLossRose(
      String stage,
      List<P> curve,
      java.util.function.ToLongFunction<P> step,
      java.util.function.ToDoubleFunction<P> loss,
      Path dir,
      java.io.PrintWriter out) {
    if (curve.size() < 2) return;
    var first = curve.get(0);
    var last = curve.get(curve.size() - 1);
    var rose =
        lossRose(
            stage,
            step.applyAsLong(first),
            loss.applyAsDouble(first),
            step.applyAsLong(last),
            loss.applyAsDouble(last),
            dir);
    if (rose != null) out.println(rose);
  }

  /** A sampling temperature a command was given: finite and above 0 (1e400 reads as Infinity). */
  static void requireTemperature(double temperature) {
    if (!(temperature > 0 && Double.isFinite(temperature)))
      throw new UserError("--temperature must be a finite number > 0, got " + temperature);
  }

  /** The commands whose checkpoints are language models, which a policy's row or sampler takes. */
  static final String[] POLICIES = {"pretrain", "sft", "ppo"};

  /** The commands whose checkpoints are reward models with the statistics their scores need. */
  static final String[] REWARD_MODELS = {"reward", "reward-trainer"};

  /**
   * An input model directory ({@code flag}'s value) must hold a checkpoint written by one of the
   * commands {@code writtenBy} (each writes the stage of its name): else the user gave the wrong
   * one, and a stage would silently start from, or score with, a model of another kind.
   *
   * @return the stage that wrote it
   */
  static String requireCheckpoint(String flag, Path dir, String... writtenBy) {
    var wanted = "give a directory written by rlhf " + String.join(" or rlhf ", writtenBy);
    if (Files.isDirectory(dir) && !Files.isExecutable(dir)) // its files cannot be reached by name
    throw new UserError(flag + " " + dir + " cannot be read (permission denied)");
    if (!Checkpoint.exists(dir))
      throw new UserError(flag + " " + dir + " holds no checkpoint: " + wanted);
    String stage;
    try {
      stage = Checkpoint.trainState(dir, TrainState.class).stage();
    } catch (AccessDeniedException e) {
      throw new UserError(
          flag
              + " "
              + dir
              + ": "
              + e.getFile()
              + " cannot be read (permission denied): give the user running rlhf read access to it",
          e);
    } catch (IOException | RuntimeException e) {
      var reason = e.getMessage() == null ? "" : e.getMessage().lines().findFirst().orElse("");
      throw new UserError(
          flag
              + " "
              + dir
              + " holds a checkpoint that cannot be read ("
              + (reason.isBlank() ? e.getClass().getSimpleName() : reason)
              + "): restore it from a copy, or "
              + wanted,
          e);
    }
    if (!List.of(writtenBy).contains(stage)) {
      throw new UserError(flag + " " + dir + " holds a " + stage + " checkpoint: " + wanted);
    }
    return stage;
  }

  /** The train state of the checkpoint in --out. */
  TrainState savedState() {
    try {
      return Checkpoint.trainState(out, TrainState.class);
    } catch (Checkpoint.CorruptCheckpointException e) {
      throw new UserError(
          "--resume: " + e.getMessage() + ": restore " + out + " from a copy, or start afresh", e);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read the train state of the checkpoint in " + out, e);
    }
  }
}
