package io.streamrlhf.learner.pretrain;

import io.streamrlhf.model.ByteTokenizer;
import io.streamrlhf.tasks.Corpus;

/**
 * The corpus as one endless token stream — each document's UTF-8 bytes followed by end-of-sequence
 * (TASKS.md "The corpus") — cut into windows of {@code windowLength} tokens that overlap by one, so
 * every token after the stream's first is a prediction target exactly once: window i covers stream
 * positions [i·(L−1), i·(L−1)+L). The stream is a pure function of the seed, so a window's index is
 * all a resumed run needs to continue where it left off.
 */
public final class CorpusWindows {
  private final Corpus corpus;
  private final int windowLength;
  private int[] document = new int[0];
  private int offset;
  private int carried = -1;
  private long windowsRead;

  public CorpusWindows(long seed, int windowLength) {
    if (windowLength < 2)
      throw new IllegalArgumentException("a window needs at least 2 tokens, got " + windowLength);
    this.corpus = new Corpus(seed);
    this.windowLength = windowLength;
  }

  /** The stream of {@code seed} positioned at window {@code index}. */
  public static CorpusWindows at(long seed, int windowLength, long index) {
    var windows = new CorpusWindows(seed, windowLength);
    for (long i = 0; i < index; i++) windows.next();
    return windows;
  }

  /** Windows handed out so far: the index of the next one. */
  public long position() {
    return windowsRead;
  }

  /** The next window: its first token is the previous window's last. */
  public int[] next() {
    var window = new int[windowLength];
    int filled = 0;
    if (carried >= 0) window[filled++] = carried;
    while (filled < windowLength) {
      if (offset == document.length) {
        document = ByteTokenizer.withEos(ByteTokenizer.encode(corpus.next().text()));
        offset = 0;
      }
      int n = Math.min(windowLength - filled, document.length - offset);
      System.arraycopy(document, offset, window, filled, n);
      filled += n;
      offset += n;
    }
    carried = window[windowLength - 1];
    windowsRead++;
    return window;
  }
}
