package io.streamrlhf.learner.reward;

import com.fasterxml.jackson.core.JsonProcessingException;
import io.streamrlhf.model.checkpoint.Checkpoint;
import io.streamrlhf.model.checkpoint.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The reward stage's labelled data, fixed once sampled and ranked: written to {@value #FILE_NAME}
 * in the output directory before the first optimizer step, so a resumed run trains on exactly the
 * sets an uninterrupted one did without sampling them again (the data position in the checkpoint
 * indexes into these lists).
 *
 * @param labelerBeta the labelers' Gumbel noise scale, calibrated on the training sets
 * @param labelerAgreement share of the held-out untied pairs labeler 2 orders like labeler 1
 * @param train the training sets, ranked by the training labelers
 * @param heldOut the held-out sets, ranked by labeler 1
 * @param heldOutOracleRanks the oracle's order of each held-out set (equal scores tied)
 */
public record RewardData(
    double labelerBeta,
    double labelerAgreement,
    List<RankedSet> train,
    List<RankedSet> heldOut,
    List<int[]> heldOutOracleRanks) {
  public static final String FILE_NAME = "ranked-sets.json";

  public RewardData {
    train = List.copyOf(train);
    heldOut = List.copyOf(heldOut);
    heldOutOracleRanks = List.copyOf(heldOutOracleRanks);
    if (heldOutOracleRanks.size() != heldOut.size()) {
      throw new IllegalArgumentException("one oracle ranking per held-out set");
    }
  }

  /** Whether {@code dir} holds the data of a reward run. */
  public static boolean exists(Path dir) {
    return Files.isRegularFile(dir.resolve(FILE_NAME));
  }

  /** Writes {@code dir/ranked-sets.json} atomically. */
  public void write(Path dir) throws IOException {
    Json.writeAtomically(this, dir.resolve(FILE_NAME));
  }

  /**
   * The data of the reward run in {@code dir}.
   *
   * @throws Checkpoint.CorruptCheckpointException when the file does not parse: part of the
   *     checkpoint, damaged
   */
  public static RewardData read(Path dir) throws IOException {
    var file = dir.resolve(FILE_NAME);
    try {
      return Json.MAPPER.readValue(file.toFile(), RewardData.class);
    } catch (JsonProcessingException e) {
      throw new Checkpoint.CorruptCheckpointException(
          file
              + " is damaged ("
              + e.getOriginalMessage().lines().findFirst().orElse("")
              + ", line "
              + (e.getLocation() == null ? "?" : e.getLocation().getLineNr())
              + "): the reward run's ranked sets cannot be read");
    }
  }
}
