package io.streamrlhf.infra.cli;

import io.streamrlhf.schemas.WeightModel;
import io.streamrlhf.schemas.signing.SigningKeys;
import io.streamrlhf.schemas.signing.TrustedWeightKeys;
import java.nio.file.Path;
import java.security.PublicKey;
import picocli.CommandLine.Option;

/**
 * The public keys an actor checks weight versions with (a picocli mixin): each publisher's {@code
 * weights-signing.pub}, copied from its output directory.
 */
final class WeightKeyOptions {
  @Option(
      names = "--weights-key",
      paramLabel = "PUBFILE",
      description =
          "The learner's public key (PEM, its --out/"
              + SigningKeys.PUBLIC_FILE
              + "): policy versions it did not sign are ignored and logged. Without it every"
              + " version is applied unchecked (and the actor says so).")
  Path policy;

  @Option(
      names = "--reward-weights-key",
      paramLabel = "PUBFILE",
      description =
          "The reward trainer's public key (PEM, its --out/"
              + SigningKeys.PUBLIC_FILE
              + "), for reward-model versions, likewise.")
  Path reward;

  TrustedWeightKeys keys() {
    var keys = TrustedWeightKeys.none();
    if (policy != null) keys = keys.with(WeightModel.POLICY, read("--weights-key", policy));
    if (reward != null) keys = keys.with(WeightModel.REWARD, read("--reward-weights-key", reward));
    return keys;
  }

  private static PublicKey read(String flag, Path file) {
    try {
      return SigningKeys.readPublic(file);
    } catch (IllegalArgumentException e) {
      throw new UserError(flag + " " + e.getMessage(), e);
    }
  }
}
