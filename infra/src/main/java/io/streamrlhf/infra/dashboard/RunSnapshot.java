package io.streamrlhf.infra.dashboard;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.streamrlhf.infra.stream.LiveLoop;
import io.streamrlhf.learner.config.ConfigLoader;
import io.streamrlhf.learner.config.PpoConfig;
import io.streamrlhf.learner.config.PretrainConfig;
import io.streamrlhf.learner.config.RewardConfig;
import io.streamrlhf.learner.config.SftConfig;
import io.streamrlhf.learner.ppo.PpoLoop;
import io.streamrlhf.learner.stream.RewardTrainer;
import io.streamrlhf.learner.stream.StreamStats;
import io.streamrlhf.model.checkpoint.Checkpoint;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * What a stage's output directory says about its run, read afresh on every call: the stage and the
 * step of its newest checkpoint against the steps (or PPO updates) its config asks for, PPO's
 * gold-vs-proxy curve, the reward trainer's newest held-out accuracy and, once the streaming loop
 * has ended, its stream statistics and a live run's figures (stopped before its end, or not). Only
 * the small files the stages already write are read, and the checkpoint's weights are not hashed,
 * so the dashboard can watch a run in another process, or on a shared disk, at no cost to it.
 */
public final class RunSnapshot {
  private static final ObjectMapper JSON = new ObjectMapper();

  private RunSnapshot() {}

  /** The run in {@code dir} as one JSON object; a file not written yet is a missing field. */
  public static ObjectNode read(Path dir) throws IOException {
    var run = JSON.createObjectNode();
    run.put("directory", dir.toString());
    String stage = null;
    if (Files.isRegularFile(dir.resolve(Checkpoint.LATEST))) {
      // the pointer and the train state it names, as written: checking the step's hashes would
      // read the whole checkpoint on every poll
      Checkpoint.Latest latest;
      try {
        latest = Checkpoint.latest(dir);
      } catch (JacksonException e) {
        throw notJson(dir.resolve(Checkpoint.LATEST), e);
      }
      var state = readJson(dir.resolve(latest.directory()).resolve(Checkpoint.TRAIN_STATE));
      stage = state.path("stage").asText(null);
      if (stage != null) run.put("stage", stage);
      run.put("step", latest.step());
    }
    var config = dir.resolve("config.json");
    if (stage != null && Files.isRegularFile(config)) {
      var total = total(stage, config);
      if (total != null) run.put("total", total);
    }
    var curve = dir.resolve(PpoLoop.CURVE_CSV);
    if (Files.isRegularFile(curve)) {
      var points = run.putArray("gold_proxy");
      for (var line : completeLines(curve)) {
        var cells = line.split(",");
        if (cells.length < 4 || !Character.isDigit(cells[0].charAt(0))) continue; // the header
        points
            .addObject()
            .put("update", Long.parseLong(cells[0]))
            .put("oracle", Double.parseDouble(cells[1]))
            .put("rm", Double.parseDouble(cells[2]))
            .put("kl", Double.parseDouble(cells[3]));
      }
    }
    var accuracy = dir.resolve(RewardTrainer.ACCURACY_CSV);
    if (Files.isRegularFile(accuracy)) feedback(run, completeLines(accuracy));
    var stream = dir.resolve(StreamStats.FILE);
    if (Files.isRegularFile(stream)) {
      var stats = readJson(stream);
      // a learner whose actors ran apart saw no weight swap: nulls there (zeros in a file written
      // before they were nulls) are not measurements
      if (stats instanceof ObjectNode o && o.path("weight_swaps").asLong(0) == 0)
        o.remove(List.of("weight_swaps", "publish_to_apply_ms_p50", "publish_to_apply_ms_max"));
      run.set("stream", stats);
    }
    // a live run's figures: whether it reached its end (a stopped one cannot be continued)
    liveFigures(run, dir);
    return run;
  }

  private static JsonNode readJson(Path file) throws IOException {
    try {
      return JSON.readTree(file.toFile());
    } catch (JacksonException e) {
      throw notJson(file, e);
    }
  }

  /** The parser's first line and where, not its dozen lines of context. */
  private static IOException notJson(Path file, JacksonException e) {
    var at = e.getLocation();
    return new IOException(
        file
            + " is not the JSON its writer writes"
            + (at != null ? " (line " + at.getLineNr() + ", column " + at.getColumnNr() + ")" : "")
            + ": "
            + e.getOriginalMessage().lines().findFirst().orElse("malformed"),
        e);
  }

  /**
   * The reward trainer's newest evaluation, by the names of its file's own header (how many
   * comparisons it has seen, its version, held-out accuracy beside labeler agreement, ...), and how
   * many evaluations there were; a figure not measured (an empty or non-finite cell) is left out.
   */
  private static void feedback(ObjectNode run, List<String> lines) {
    if (lines.size() < 2) return;
    var names = lines.get(0).split(",");
    var cells = lines.get(lines.size() - 1).split(",", -1);
    var newest = run.putObject("feedback");
    newest.put("evaluations", lines.size() - 1);
    for (int i = 0; i < Math.min(names.length, cells.length); i++) {
      var cell = cells[i].strip();
      if (cell.isEmpty()) continue;
      try {
        if (cell.matches("-?\\d+")) {
          newest.put(names[i], Long.parseLong(cell));
          continue;
        }
        double x = Double.parseDouble(cell);
        if (Double.isFinite(x)) newest.put(names[i], x);
      } catch (NumberFormatException e) {
        newest.put(names[i], cell); // the time of day
      }
    }
  }

  /**
   * live.json's figures under the names the other tables use (latency_p50_ms), a figure not
   * measured (-1) left out; a file that is not the JSON a live run writes is said, not a failure.
   */
  private static void liveFigures(ObjectNode run, Path dir) {
    ObjectNode figures;
    try {
      figures = LiveLoop.written(dir);
    } catch (IOException e) {
      run.put("live_error", e.getMessage());
      return;
    }
    if (figures == null) return;
    var live = run.putObject("live");
    figures
        .fields()
        .forEachRemaining(
            e -> {
              if (e.getValue().isNumber() && e.getValue().asLong() == -1) return;
              live.set(
                  e.getKey()
                      .replaceAll("([a-z0-9])([A-Z])", "$1_$2")
                      .toLowerCase(java.util.Locale.ROOT),
                  e.getValue());
            });
  }

  /** The steps (PPO: updates) the stage's saved config runs; none for the open-ended trainer. */
  private static Long total(String stage, Path config) {
    return switch (stage) {
      case "pretrain" ->
          (long) ConfigLoader.load(PretrainConfig.defaults(), config, List.of()).steps();
      case "sft" -> (long) ConfigLoader.load(SftConfig.defaults(), config, List.of()).steps();
      case "reward" -> ConfigLoader.load(RewardConfig.defaults(), config, List.of()).totalSteps();
      case "ppo" -> (long) ConfigLoader.load(PpoConfig.defaults(), config, List.of()).updates();
      default -> null;
    };
  }

  /** The file's lines but a last one still being written (no newline yet). */
  private static List<String> completeLines(Path file) throws IOException {
    var text = Files.readString(file, StandardCharsets.UTF_8);
    int end = text.lastIndexOf('\n');
    return end < 0 ? List.of() : text.substring(0, end).lines().toList();
  }
}
