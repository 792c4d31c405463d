package io.streamrlhf.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class GenerationWorkersTest {

  private static final GptConfig SHAPE = new GptConfig(ByteTokenizer.VOCAB_SIZE, 48, 32, 2, 4);
  private static final List<int[]> PROMPTS =
      List.of(
          ByteTokenizer.encode("Reverse: abc"),
          ByteTokenizer.encode("Hi"),
          ByteTokenizer.encode("What color is snow?"));
  private static Gpt model;

  @BeforeAll
  static void createModel() {
    model = Gpt.create(SHAPE, 13);
  }

  @AfterAll
  static void closeModel() {
    model.close();
  }

  /** Batch i samples the prompts with seed 100 + i; the tokens of every row, in order. */
  private static List<int[]> sample(Gpt on, int i) {
    var sampling = new Generator.Sampling(12, 1.0f, 0, 100 + i);
    return new Generator(on).generate(PROMPTS, sampling).stream().map(c -> c.tokens()).toList();
  }

  @Test
  void workersReturnWhatTheCallingThreadSamplesInBatchOrder() {
    int batches = 7;
    var finished = new ArrayList<Integer>();
    var caller = Thread.currentThread();
    var alone =
        GenerationWorkers.map(
            model,
            batches,
            1,
            (on, i) -> {
              assertThat(on).isSameAs(model);
              assertThat(Thread.currentThread()).isSameAs(caller);
              return sample(on, i);
            },
            i -> {});
    var spread =
        GenerationWorkers.map(
            model,
            batches,
            3,
            (copy, i) -> {
              assertThat(copy).isNotSameAs(model);
              assertThat(Thread.currentThread()).isNotSameAs(caller);
              return sample(copy, i);
            },
            finished::add);
    var sequential = new ArrayList<List<int[]>>();
    for (int i = 0; i < batches; i++) sequential.add(sample(model, i));

    assertThat(finished).containsExactly(0, 1, 2, 3, 4, 5, 6);
    assertThat(spread).hasSize(batches);
    for (int i = 0; i < batches; i++) {
      for (int row = 0; row < PROMPTS.size(); row++) {
        assertThat(spread.get(i).get(row))
            .as("batch %d row %d", i, row)
            .containsExactly(sequential.get(i).get(row));
        assertThat(alone.get(i).get(row)).containsExactly(sequential.get(i).get(row));
      }
    }
    // different seeds give different batches, so order mistakes could not pass unseen
    assertThat(spread.get(0).get(0)).isNotEqualTo(spread.get(1).get(0));
  }

  @Test
  void aFailingBatchFailsTheCallWithItsOwnError() {
    Set<Integer> ran = ConcurrentHashMap.newKeySet();
    assertThatThrownBy(
            () ->
                GenerationWorkers.map(
                    model,
                    20,
                    2,
                    (copy, i) -> {
                      ran.add(i);
                      if (i == 3) throw new IllegalStateException("batch 3 broke");
                      return i;
                    },
                    i -> {}))
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("batch 3 broke");
    assertThat(ran).contains(3);
  }

  @Test
  void threadsStartedAfterwardsBeginWithTheCallersCountNotTheWorkersOne() throws Exception {
    int mine = Gpt.intraOpThreads();
    try {
      Gpt.intraOpThreads(3);
      GenerationWorkers.map(model, 4, 2, (copy, i) -> sample(copy, i), i -> {});
      // a thread of its own, started after the workers are done
      var startedWith =
          CompletableFuture.supplyAsync(Gpt::intraOpThreads, task -> new Thread(task).start());
      assertThat(startedWith.get()).isEqualTo(3);
      assertThat(Gpt.intraOpThreads()).isEqualTo(3);
    } finally {
      Gpt.intraOpThreads(mine);
    }
  }
}
