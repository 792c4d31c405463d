package io.streamrlhf.learner.pretrain;

import io.streamrlhf.model.ByteTokenizer;
import io.streamrlhf.tasks.Corpus;
import java.util.List;
import java.util.function.Supplier;

/**
 * The corpus as one endless token stream — each document's UTF-8 bytes followed by end-of-sequence
 * (TASKS.md "The corpus") — cut into windows of {@code windowLength} tokens that overlap by one, so
 * every token after the stream's first is a prediction target exactly once: window i covers stream
 * positions [i·(L−1), i·(L−1)+L). The stream is a pure function of the seed, so a window's index is
 * all a resumed run needs to continue where it left off.
 */
public final class CorpusWindows {
  private final Supplier<String> documents;
  private final int windowLength;
  private int[] document = new int[0];
  private int offset;
  private int carried = -1;
  private long windowsRead;

  public CorpusWindows(long seed, int windowLength) {
    this(builtIn(seed), windowLength);
  }

  /**
   * The stream of the texts {@code documents} hands out, one after another; it must hand out the
   * same sequence every time it is made afresh, for {@link #at} to resume.
   */
  public CorpusWindows(Supplier<String> documents, int windowLength) {
    if (windowLength < 2)
      throw new IllegalArgumentException("a window needs at least 2 tokens, got " + windowLength);
    this.documents = documents;
    this.windowLength = windowLength;
  }

  /** The stream of {@code seed} positioned at window {@code index}. */
  public static CorpusWindows at(long seed, int windowLength, long index) {
    return at(builtIn(seed), windowLength, index);
  }

  /** The stream of {@code documents} positioned at window {@code index}. */
  public static CorpusWindows at(Supplier<String> documents, int windowLength, long index) {
    var windows = new CorpusWindows(documents, windowLength);
    for (long i = 0; i < index; i++) windows.next();
    return windows;
  }

  /** The built-in synthetic corpus of {@code seed} (TASKS.md "The corpus"). */
  public static Supplier<String> builtIn(long seed) {
    var corpus = new Corpus(seed);
    return () -> corpus.next().text();
  }

  /** A user's documents, in order and over again. */
  public static Supplier<String> cycling(List<String> texts) {
    if (texts.isEmpty()) throw new IllegalArgumentException("no documents to pretrain on");
    var next = new int[1];
    return () -> texts.get(next[0]++ % texts.size());
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
        document = ByteTokenizer.withEos(ByteTokenizer.encode(documents.get()));
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
