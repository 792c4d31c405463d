package io.streamrlhf.tasks;

import java.util.random.RandomGenerator;

/**
 * The task world's only source of randomness: SplitMix64 (Steele, Lea and Flood, "Fast splittable
 * pseudorandom number generators", OOPSLA 2014), written out here so that a seed gives the same
 * bytes on every JVM.
 *
 * <p>Why not {@link java.util.SplittableRandom}: its bounded draws are an implementation detail
 * that did change (JDK 17 moved {@code nextInt(bound)} to {@code RandomSupport}), and TASKS.md
 * promises "the same seed gives the same bytes on every machine". Every arithmetic step below is
 * fixed by the JLS.
 *
 * <p>Draw n is mix64(seed + n·γ), so the whole state is (seed, draws): a training stage saves it
 * with its checkpoint and a resumed run draws exactly the numbers an uninterrupted one would
 * ({@link #state}, {@link #restore}). The stream is SplittableRandom's: the same seed gives the
 * same {@link #nextLong} values. The project's one generator, for the task world and the learner.
 *
 * <p>Not thread-safe: one per thread, as one would use a SplittableRandom.
 */
public final class SplitMix64 implements RandomGenerator {
  private static final long GOLDEN_GAMMA = 0x9E3779B97F4A7C15L;

  private final long seed;
  private long draws;

  public SplitMix64(long seed) {
    this(new RngState(seed, 0));
  }

  private SplitMix64(RngState state) {
    this.seed = state.seed();
    this.draws = state.draws();
  }

  /** The saved form of a {@link SplitMix64}: its seed and how many 64-bit draws were taken. */
  public record RngState(long seed, long draws) {}

  /** Continues a stream exactly where {@link #state()} was taken. */
  public static SplitMix64 restore(RngState state) {
    return new SplitMix64(state);
  }

  /** All that is needed to continue the stream. */
  public RngState state() {
    return new RngState(seed, draws);
  }

  /**
   * An independent stream for one purpose ("corpus", "labeler-3", ...) under a user's seed, so that
   * e.g. demonstrations and PPO prompts drawn with the same seed still differ. {@link
   * String#hashCode()} is specified by its Javadoc, hence stable across JVMs.
   */
  public static SplitMix64 stream(long seed, String purpose) {
    return new SplitMix64(mix(seed) ^ mix(GOLDEN_GAMMA * purpose.hashCode() + purpose.length()));
  }

  @Override
  public long nextLong() {
    draws++;
    return mix(seed + draws * GOLDEN_GAMMA);
  }

  /** Uniform in [0, bound): rejection sampling on 31 bits, as java.util.Random documents it. */
  @Override
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

  /**
   * Uniform in [lo, hi], both inclusive (RandomGenerator's nextInt(origin, bound) excludes its
   * bound; this one is named apart so that neither is mistaken for the other).
   */
  public int nextIntBetween(int lo, int hi) {
    return lo + nextInt(hi - lo + 1);
  }

  /** Uniform in [0, 1) on a 2^-53 grid. */
  @Override
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
