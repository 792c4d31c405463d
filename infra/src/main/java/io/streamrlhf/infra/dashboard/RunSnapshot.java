package io.streamrlhf.infra.dashboard;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.streamrlhf.learner.ppo.GoldProxyCurve;
import io.streamrlhf.learner.ppo.PpoLoop;
import io.streamrlhf.learner.stream.StreamStats;
import io.streamrlhf.learner.train.TrainState;
import io.streamrlhf.model.checkpoint.Checkpoint;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What a stage's output directory says about its run, read afresh on every call: the stage and the
 * step of its newest checkpoint against the steps (or PPO updates) its config asks for, PPO's
 * gold-vs-proxy curve and, once the streaming loop has ended, its stream statistics. Only files the
 * stages already write are read, so the dashboard can watch a run in another process, or on a
 * shared disk, without touching it.
 */
public final class RunSnapshot {
  private static final ObjectMapper JSON = new ObjectMapper();

  private RunSnapshot() {}

  /** The run in {@code dir} as one JSON object; a file not written yet is a missing field. */
  public static ObjectNode read(Path dir) throws IOException {
    var run = JSON.createObjectNode();
    run.put("directory", dir.toString());
    if (Checkpoint.exists(dir)) {
      var state = Checkpoint.trainState(dir, TrainState.class);
      run.put("stage", state.stage());
      run.put("step", state.step());
    }
    var config = dir.resolve("config.json");
    if (Files.isRegularFile(config)) {
      JsonNode settings = JSON.readTree(config.toFile());
      // PPO counts updates, the other stages steps
      var total = settings.has("updates") ? settings.get("updates") : settings.get("steps");
      if (total != null) run.put("total", total.asLong());
    }
    var curve = dir.resolve(PpoLoop.CURVE_CSV);
    if (Files.isRegularFile(curve)) {
      var points = run.putArray("gold_proxy");
      for (var p : GoldProxyCurve.read(curve)) {
        points
            .addObject()
            .put("update", p.update())
            .put("oracle", p.oracleScore())
            .put("rm", p.rmScore())
            .put("kl", p.kl())
            .put("seconds", p.seconds());
      }
    }
    var stream = dir.resolve(StreamStats.FILE);
    if (Files.isRegularFile(stream)) run.set("stream", JSON.readTree(stream.toFile()));
    return run;
  }
}
