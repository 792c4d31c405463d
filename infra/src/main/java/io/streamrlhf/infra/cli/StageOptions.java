package io.streamrlhf.infra.cli;

import io.streamrlhf.learner.config.ConfigLoader;
import io.streamrlhf.learner.config.StageConfig;
import io.streamrlhf.model.checkpoint.Checkpoint;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;

/**
 * The options every training stage shares (a picocli mixin): where the checkpoint goes, the
 * config file and {@code --set} overrides, and {@code --resume}.
 */
final class StageOptions {
  @Option(names = "--out", required = true, paramLabel = "DIR",
      description = "Output directory: checkpoints (weights, optimizer, train state), config.json.")
  Path out;

  @Option(names = "--config", paramLabel = "FILE",
      description = "Settings file (JSON, or YAML for .yaml/.yml) of key: value pairs; see the defaults printed at start.")
  Path configFile;

  @Option(names = "--set", paramLabel = "KEY=VALUE",
      description = "Override one setting (repeatable), e.g. --set steps=300 --set learning_rate=3e-3.")
  List<String> overrides = new ArrayList<>();

  @Option(names = "--resume",
      description = "Continue the run checkpointed in --out (its config.json is the base unless --config is given).")
  boolean resume;

  /** The effective config, checked against the output directory's state, printed and saved. */
  <T extends StageConfig> T effectiveConfig(T defaults, PrintWriter out) {
    if (resume && !Checkpoint.exists(this.out)) {
      throw new UserError("--resume: " + this.out + " holds no checkpoint to continue; drop --resume to start afresh");
    }
    if (!resume && Checkpoint.exists(this.out)) {
      throw new UserError(this.out + " already holds a " + defaults.stageName()
          + " checkpoint: pass --resume to continue it, or choose another --out");
    }
    var file = configFile;
    var saved = this.out.resolve(ConfigLoader.FILE_NAME);
    if (file == null && resume && Files.isRegularFile(saved)) file = saved;
    var config = ConfigLoader.load(defaults, file, overrides);
    out.println(ConfigLoader.describe(config));
    out.flush();
    try {
      ConfigLoader.save(config, this.out);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write " + saved, e);
    }
    return config;
  }
}
