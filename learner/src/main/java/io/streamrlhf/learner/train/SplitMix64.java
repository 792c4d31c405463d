package io.streamrlhf.learner.train;

import java.util.random.RandomGenerator;

/**
 * A random-number generator whose whole state is two longs, so a resumed stage draws exactly the
 * numbers an uninterrupted run would have drawn. SplitMix64 (Steele, Lea &amp; Flood 2014, the
 * algorithm behind {@link java.util.SplittableRandom}): draw n is mix64(seed + n·γ). Every other
 * method of {@link RandomGenerator} (nextInt(bound), nextDouble, nextGaussian, ...) is derived from
 * {@link #nextLong}, so counting nextLong calls counts the whole state. SplittableRandom itself
 * cannot be saved: it exposes neither its seed nor how far it has gone.
 *
 * <p>Not thread-safe: one per stage thread, as one would use a SplittableRandom.
 */
public final class SplitMix64 implements RandomGenerator {
  private static final long GOLDEN_GAMMA = 0x9e3779b97f4a7c15L;

  private final long seed;
  private long draws;

  public SplitMix64(long seed) {
    this(new RngState(seed, 0));
  }

  private SplitMix64(RngState state) {
    this.seed = state.seed();
    this.draws = state.draws();
  }

  /** Continues a stream exactly where {@link #state()} was taken. */
  public static SplitMix64 restore(RngState state) {
    return new SplitMix64(state);
  }

  /** The seed and how many 64-bit draws were taken: all that is needed to continue the stream. */
  public RngState state() {
    return new RngState(seed, draws);
  }

  @Override
  public long nextLong() {
    draws++;
    return mix64(seed + draws * GOLDEN_GAMMA);
  }

  /** Stafford's variant 13 of the MurmurHash3 finaliser, as in SplittableRandom. */
  private static long mix64(long z) {
    z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
    z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
    return z ^ (z >>> 31);
  }

  /** The saved form of a {@link SplitMix64}. */
  public record RngState(long seed, long draws) {}
}
