package io.streamrlhf.infra.cli;

import io.streamrlhf.schemas.WeightStore;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/**
 * {@code --weights-store DIR} (a picocli mixin): policy bytes in shared storage, a pointer on
 * Kafka.
 */
final class WeightStoreOption {
  @Option(
      names = "--weights-store",
      paramLabel = "DIR",
      description =
          "A directory the learner and its actors share (a shared filesystem, mounted anywhere on"
              + " each machine): each policy version's bytes are written there and"
              + " rlhf.policy-weights carries only a signed pointer (version, object name, length,"
              + " SHA-256), which an actor resolves, checks and verifies before it applies the"
              + " version. The learner and every actor of a run must name the same store; the"
              + " newest "
              + WeightStore.KEPT
              + " versions are kept. Default: none, the bytes travel"
              + " on the topic in chunks.")
  Path dir;

  /** The store, or null without the flag. */
  WeightStore store() {
    if (dir == null) return null;
    try {
      return WeightStore.at(dir);
    } catch (UncheckedIOException e) {
      throw new UserError("--weights-store " + dir + ": " + e.getMessage(), e);
    }
  }
}
