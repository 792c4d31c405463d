package io.streamrlhf.tasks;

/**
 * The task world's only source of randomness: SplitMix64 (Steele, Lea and Flood, "Fast
 * splittable pseudorandom number generators", OOPSLA 2014), written out here so that a seed
 * gives the same bytes on every JVM.
 *
 * <p>Why not {@link java.util.SplittableRandom}: its bounded draws are an implementation detail
 * that did change (JDK 17 moved {@code nextInt(bound)} to {@code RandomSupport}), and TASKS.md
 * promises "the same seed gives the same bytes on every machine". Every arithmetic step below is
 * fixed by the JLS.
 */
public final class SplitMix64 {
  private static final long GOLDEN_GAMMA = 0x9E3779B97F4A7C15L;

  private long state;

  public SplitMix64(long seed) {
    this.state = seed;
  }

  /**
   * An independent stream for one purpose ("corpus", "labeler-3", ...) under a user's seed, so
   * that e.g. demonstrations and PPO prompts drawn with the same seed still differ.
   * {@link String#hashCode()} is specified by its Javadoc, hence stable across JVMs.
   */
  public static SplitMix64 stream(long seed, String purpose) {
    return new SplitMix64(mix(seed) ^ mix(GOLDEN_GAMMA * purpose.hashCode() + purpose.length()));
  }

  public long nextLong() {
    return mix(state += GOLDEN_GAMMA);
  }

  /** Uniform in [0, bound): rejection sampling on 31 bits, as java.util.Random documents it. */
  public int nextInt(int bound) {
    if (bound <= 0) {
      throw new IllegalArgumentException("bound must be positive: " + bound);
    }
    int bits;
    int value;
    do {
      bits = (int) (nextLong() >>> 33);
      value = bits % bound;
    } while (bits - value + (bound - 1) < 0);
    return value;
  }

  /** Uniform in [lo, hi], both inclusive. */
  public int nextInt(int lo, int hi) {
    return lo + nextInt(hi - lo + 1);
  }

  /** Uniform in [0, 1) on a 2^-53 grid. */
  public double nextDouble() {
    return (nextLong() >>> 11) * 0x1.0p-53;
  }

  /** Uniform in the open interval (0, 1): safe under log. */
  public double nextOpenDouble() {
    return ((nextLong() >>> 11) + 0.5) * 0x1.0p-53;
  }

  public boolean nextBoolean(double probability) {
    return nextDouble() < probability;
  }

  public <T> T pick(java.util.List<T> items) {
    return items.get(nextInt(items.size()));
  }

  private static long mix(long z) {
    z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
    z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
    return z ^ (z >>> 31);
  }
}
