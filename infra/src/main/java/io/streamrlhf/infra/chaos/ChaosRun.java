package io.streamrlhf.infra.chaos;

import io.streamrlhf.learner.config.ConfigLoader;
import io.streamrlhf.learner.config.PpoConfig;
import io.streamrlhf.learner.ppo.PpoLoop;
import io.streamrlhf.learner.train.TrainState;
import io.streamrlhf.model.Gpt;
import io.streamrlhf.model.checkpoint.Checkpoint;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Map;
import java.util.stream.Stream;

/**
 * One chaos invocation: its settings, its working directory (one subdirectory per scenario, the
 * models, the baselines), its log, and what scenarios share: the models, and the final weights of
 * an uninterrupted run of a config to compare a disturbed run's with.
 */
public final class ChaosRun {
  /**
   * Two runs end "with the same weights" within this: batched generation groups rows differently
   * when actors batch prompts differently, which moves log-probs in the last bits (as the streaming
   * equivalence test found).
   */
  public static final double WEIGHT_TOLERANCE = 1e-4;

  private final ChaosSettings settings;
  private final Path root;
  private final PrintWriter log;
  private final Map<String, Path> baselines = new HashMap<>();
  private Path models;

  public ChaosRun(ChaosSettings settings, Path root, PrintWriter log) {
    this.settings = settings;
    this.root = root;
    this.log = log;
  }

  public ChaosSettings settings() {
    return settings;
  }

  public PrintWriter log() {
    return log;
  }

  public Path root() {
    return root;
  }

  public Path sft() {
    return settings.sft() != null ? settings.sft() : models().resolve("sft");
  }

  public Path rm() {
    return settings.rm() != null ? settings.rm() : models().resolve("rm");
  }

  private synchronized Path models() {
    if (models == null) {
      try {
        models = TinyModels.write(root.resolve("models"));
      } catch (IOException e) {
        throw new UncheckedIOException("cannot write the tiny models into " + root, e);
      }
    }
    return models;
  }

  /** A fresh directory for one scenario (an earlier chaos run's is removed). */
  public Path scenarioDirectory(String scenario) throws IOException {
    var dir = root.resolve(scenario);
    deleteTree(dir);
    return Files.createDirectories(dir);
  }

  /**
   * The output directory of an uninterrupted in-process run of {@code config} on this run's models
   * (the same loop and update the learner runs, sampling in process), computed once per config and
   * models in this run's directory.
   */
  public synchronized Path baseline(PpoConfig config) throws IOException {
    var key = ConfigLoader.toJson(config) + sft() + rm();
    var cached = baselines.get(key);
    if (cached != null) return cached;
    var dir = root.resolve("baseline-" + Integer.toHexString(key.hashCode()));
    if (Checkpoint.exists(dir)
        && Checkpoint.trainState(dir, TrainState.class).step() == config.updates()) {
      baselines.put(key, dir);
      return dir;
    }
    deleteTree(dir);
    log.println("chaos | computing the uninterrupted baseline in process: " + dir);
    log.flush();
    PpoLoop.inProcess(config, sft(), rm(), dir, false, new PrintWriter(new StringWriter()));
    baselines.put(key, dir);
    return dir;
  }

  /** The largest difference between any parameter of the checkpoints in {@code a} and {@code b}. */
  public static double maxWeightDifference(Path a, Path b) throws IOException {
    try (Gpt x = Checkpoint.loadModel(a);
        Gpt y = Checkpoint.loadModel(b)) {
      double max = 0;
      for (var entry : x.parameters().entrySet()) {
        var p = entry.getValue().toFloatArray();
        var q = y.parameters().get(entry.getKey()).toFloatArray();
        for (int i = 0; i < p.length; i++) max = Math.max(max, Math.abs(p[i] - q[i]));
      }
      return max;
    }
  }

  public static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir)) return;
    try (Stream<Path> walk = Files.walk(dir)) {
      for (var p : walk.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
    }
  }
}
