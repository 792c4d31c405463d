package io.streamrlhf.actors;

import io.streamrlhf.tasks.SplitMix64;

/**
 * Which prompts an actor asks to have ranked, and the id of the request: both functions of the
 * prompt id alone. A prompt answered again (its actor restarted before committing, or its partition
 * moved to another actor) is asked about again under the same request id, so the gateway and the
 * labelers see one request, and a comparison's idempotency key (built from the request id) lets the
 * reward trainer count it once.
 */
public final class LabelRequests {
  /** Seeds the prompt-id hash; fixed, so every actor and every run choose alike. */
  private static final long CHOICE_SEED = 0x1abe1L;

  private LabelRequests() {}

  /** Whether the prompt {@code promptId} is among the {@code share} asked about. */
  public static boolean asks(String promptId, double share) {
    if (share <= 0) return false;
    if (share >= 1) return true;
    return unitHash(promptId) < share;
  }

  /** The request id of a prompt's label request. */
  public static String requestId(String promptId) {
    return promptId + "#label";
  }

  /** A uniform draw in [0, 1) that is a fixed function of {@code key} on every JVM. */
  static double unitHash(String key) {
    return SplitMix64.stream(CHOICE_SEED, key).nextDouble();
  }
}
