package io.streamrlhf.jmh;

import ai.djl.engine.Engine;
import ai.djl.pytorch.jni.JniUtils;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * What every benchmark sets up: the PyTorch engine on a given number of intra-op threads,
 * bench-small's batch.
 */
final class Engines {
  /** BENCHMARKS.md's bench-small batch: 16 prompts of 32 tokens, 64 new tokens. */
  static final int BATCH = 16;

  static final int PROMPT_TOKENS = 32;
  static final int NEW_TOKENS = 64;

  private Engines() {}

  static void start(int threads) {
    System.setProperty("ai.djl.pytorch.num_interop_threads", "1");
    Engine.getEngine("PyTorch");
    JniUtils.setNumThreads(threads);
  }

  static List<int[]> tokens(long seed, int rows, int length) {
    var rng = new SplittableRandom(seed);
    var out = new ArrayList<int[]>(rows);
    for (int i = 0; i < rows; i++) {
      out.add(rng.ints(length, 0, 256).toArray());
    }
    return out;
  }
}
