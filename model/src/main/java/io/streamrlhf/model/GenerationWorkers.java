package io.streamrlhf.model;

import ai.djl.ndarray.types.DataType;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntConsumer;

/**
 * Independent sampling batches spread over the CPU's cores: one thread and one copy of the model
 * per core, each thread on one PyTorch intra-op thread. A KV-cache decode step multiplies a few
 * rows by each weight matrix, too little work to split across cores, so a single generation leaves
 * every core but one idle; batches side by side use them all. Results come back in batch order, and
 * a batch's samples depend only on its own seeds, never on which thread ran it or when.
 */
public final class GenerationWorkers {
  private GenerationWorkers() {}

  /** One batch of work on a model (the caller's, or a worker's copy of it). */
  @FunctionalInterface
  public interface Batch<T> {
    T run(Gpt model, int index);
  }

  /**
   * One worker per core for a float32 model on the CPU; a GPU model (one device, already parallel)
   * and a float64 one (the copies are float32) sample on the calling thread.
   */
  public static int defaultWorkers(Gpt model) {
    return model.device() == ComputeDevice.CPU && model.dataType() == DataType.FLOAT32
        ? Runtime.getRuntime().availableProcessors()
        : 1;
  }

  /**
   * Runs batches {@code 0 … batches−1} on {@code workers} threads and returns their results in
   * order; {@code finished} is called on the calling thread for each batch in order, once it and
   * every batch before it are done (progress lines). With one worker (or one batch) everything runs
   * on the calling thread with {@code model} itself; otherwise each worker runs on a float32 copy.
   * The first failure of a batch is rethrown.
   */
  public static <T> List<T> map(
      Gpt model, int batches, int workers, Batch<T> batch, IntConsumer finished) {
    if (workers < 1) throw new IllegalArgumentException("workers must be >= 1, got " + workers);
    var results = new ArrayList<T>(batches);
    int threads = Math.min(workers, batches);
    if (threads <= 1) {
      for (int i = 0; i < batches; i++) {
        results.add(batch.run(model, i));
        finished.accept(i);
      }
      return results;
    }
    // the workers' one-thread setting is also the count threads started later begin with: the
    // caller's count is put back as that default when they are done
    int callerThreads = Gpt.intraOpThreads();
    var snapshot = model.snapshot(0);
    var pending = new ArrayList<CompletableFuture<T>>(batches);
    for (int i = 0; i < batches; i++) pending.add(new CompletableFuture<>());
    var next = new AtomicInteger();
    ExecutorService pool =
        Executors.newFixedThreadPool(
            threads,
            runnable -> {
              var thread = new Thread(runnable, "generation-worker");
              thread.setDaemon(true);
              return thread;
            });
    try {
      for (int w = 0; w < threads; w++) {
        pool.execute(
            () -> {
              try {
                Gpt.inferenceOnlyThread();
                Gpt.intraOpThreads(1);
                try (var copy = Gpt.fromSnapshot(model.config(), snapshot, model.device())) {
                  for (int i = next.getAndIncrement(); i < batches; i = next.getAndIncrement()) {
                    pending.get(i).complete(batch.run(copy, i));
                  }
                }
              } catch (Throwable t) {
                next.set(batches); // the other workers stop after their current batch
                pending.forEach(p -> p.completeExceptionally(t)); // a no-op on finished batches
              }
            });
      }
      for (int i = 0; i < batches; i++) {
        try {
          results.add(pending.get(i).join());
        } catch (CompletionException e) {
          if (e.getCause() instanceof RuntimeException r) throw r;
          if (e.getCause() instanceof Error error) throw error;
          throw e;
        }
        finished.accept(i);
      }
      return results;
    } finally {
      pool.shutdownNow();
      try {
        pool.awaitTermination(1, TimeUnit.MINUTES);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      Gpt.intraOpThreads(callerThreads);
    }
  }
}
