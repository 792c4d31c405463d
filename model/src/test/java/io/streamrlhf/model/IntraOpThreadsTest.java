package io.streamrlhf.model;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * PyTorch's intra-op thread count is per thread, which is what lets the in-process loop give each
 * actor one thread and the learner the rest ({@link Gpt#intraOpThreads(int)}).
 */
class IntraOpThreadsTest {

  @Test
  void eachThreadKeepsItsOwnCountAndNewThreadsStartWithTheLastOneSet() throws Exception {
    int mine = Gpt.intraOpThreads();
    try {
      Gpt.intraOpThreads(3);
      var seen = new CompletableFuture<int[]>();
      var other =
          new Thread(
              () -> {
                try {
                  int startedWith = Gpt.intraOpThreads();
                  Gpt.intraOpThreads(1);
                  seen.complete(new int[] {startedWith, Gpt.intraOpThreads()});
                } catch (Throwable t) {
                  seen.completeExceptionally(t);
                }
              });
      other.start();
      other.join();
      assertThat(seen.get()).containsExactly(3, 1);
      assertThat(Gpt.intraOpThreads())
          .as("this thread's count, after the other set 1")
          .isEqualTo(3);
    } finally {
      Gpt.intraOpThreads(mine);
    }
  }
}
