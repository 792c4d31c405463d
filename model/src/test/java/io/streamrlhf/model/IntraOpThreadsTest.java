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
      // a new thread, which has run no PyTorch op yet
      var seen =
          CompletableFuture.supplyAsync(
              () -> {
                int startedWith = Gpt.intraOpThreads();
                Gpt.intraOpThreads(1);
                return new int[] {startedWith, Gpt.intraOpThreads()};
              },
              task -> new Thread(task).start());
      assertThat(seen.get()).containsExactly(3, 1);
      assertThat(Gpt.intraOpThreads())
          .as("this thread's count, after the other set 1")
          .isEqualTo(3);
    } finally {
      Gpt.intraOpThreads(mine);
    }
  }
}
