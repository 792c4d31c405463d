package io.streamrlhf.infra.cli;

import io.streamrlhf.actors.WeightSwap;

/** {@code --swap} as the user typed it, or a one-line {@link UserError}. */
final class WeightSwaps {
  private WeightSwaps() {}

  static WeightSwap parse(String flag) {
    try {
      return WeightSwap.of(flag);
    } catch (IllegalArgumentException e) {
      throw new UserError(e.getMessage());
    }
  }
}
