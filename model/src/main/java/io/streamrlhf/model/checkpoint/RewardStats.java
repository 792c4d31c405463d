package io.streamrlhf.model.checkpoint;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Path;

/**
 * What the reward stage stores with the reward model's checkpoint (under {@value #EXTRA_KEY} in its
 * train state's extras): the mean and standard deviation of its scores on SFT samples, with which
 * PPO normalises rewards ({@code Ppo.normalisedScore}), and the held-out figures the run measured.
 *
 * @param scoreMean mean RM score over the held-out prompts' SFT samples
 * @param scoreStd their standard deviation
 * @param heldOutAccuracy share of held-out untied pairs the RM orders like labeler 1
 * @param labelerAgreement share of the same pairs labeler 2 orders like labeler 1: the ceiling a
 *     noisy label allows, InstructGPT's 72.6%
 * @param heldOutAccuracyVsOracle share of pairs with unequal oracle scores the RM orders like the
 *     oracle
 * @param labelerBeta the labelers' Gumbel noise scale, calibrated on the training samples
 * @param likelihoodWeight w of the score head + w·log π_SFT(y|x) (0: the scalar head alone,
 *     InstructGPT's reward model); every reader of the checkpoint scores with it
 * @param heldOutAccuracyBeforeTraining {@code heldOutAccuracy} of the score with the initial,
 *     zeroed head: the likelihood term alone, or 0.5 without one; what Bradley-Terry training added
 *     is the difference
 * @param headAccuracy {@code heldOutAccuracy} of the trained scalar head alone, without any
 *     likelihood term: what the comparisons taught
 * @param headAccuracyStandardError the standard error of {@code headAccuracy} over the held-out
 *     prompts (a prompt's pairs share its responses); NaN where it was not measured
 * @param scoreLengthCorrelation Pearson correlation of the score with the response's length in
 *     tokens over the held-out samples: the reward model's length bias
 */
public record RewardStats(
    double scoreMean,
    double scoreStd,
    int responsesPerPrompt,
    int heldOutSets,
    int heldOutPairs,
    double heldOutAccuracy,
    double labelerAgreement,
    double heldOutAccuracyVsOracle,
    double labelerBeta,
    double likelihoodWeight,
    double heldOutAccuracyBeforeTraining,
    double headAccuracy,
    double headAccuracyStandardError,
    double scoreLengthCorrelation) {
  public static final String EXTRA_KEY = "reward_stats";

  /** {@code extra} with these statistics added, for the checkpoint's train state. */
  public ObjectNode into(ObjectNode extra) {
    extra.set(EXTRA_KEY, Json.MAPPER.valueToTree(this));
    return extra;
  }

  /** The statistics stored with the reward-model checkpoint in {@code dir}. */
  public static RewardStats read(Path dir) throws IOException {
    var node = Checkpoint.extras(dir).get(EXTRA_KEY);
    if (node == null) {
      throw new IllegalArgumentException(
          dir
              + " is not a reward-model checkpoint: its train state has no "
              + EXTRA_KEY
              + " (train one with rlhf reward)");
    }
    return fromJson(node);
  }

  /** The property checkpoints written before the head's standard error was stored lack. */
  static final String HEAD_ACCURACY_STANDARD_ERROR = "head_accuracy_standard_error";

  /**
   * The statistics from their JSON under {@value #EXTRA_KEY}; a checkpoint written before the
   * head's standard error was stored reads it as NaN (not measured), so reward models trained
   * earlier keep loading.
   */
  static RewardStats fromJson(JsonNode node) throws IOException {
    if (node instanceof ObjectNode object && !object.has(HEAD_ACCURACY_STANDARD_ERROR)) {
      node = object.deepCopy().put(HEAD_ACCURACY_STANDARD_ERROR, Double.NaN);
    }
    return Json.MAPPER.treeToValue(node, RewardStats.class);
  }
}
