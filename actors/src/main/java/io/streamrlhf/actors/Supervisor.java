package io.streamrlhf.actors;

import io.streamrlhf.schemas.transport.Durations;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Keeps the in-process parts of a run running ({@code rlhf ppo}'s actors): when a part fails (its
 * {@link Part#ended} fails; a failed verticle has closed its Kafka clients by then), the supervisor
 * stops it and deploys a fresh copy under the same name, with new clients and models, which rejoins
 * the consumer group and starts from the newest whole weights. Each restart is logged and counted
 * ({@link #restarts}).
 *
 * <p>A failure that keeps coming back is not passing: after {@code maxRestarts} restarts of one
 * part within {@code window}, the supervisor gives up on it and {@link #gaveUp} fails, so the run
 * ends with that failure instead of spinning.
 *
 * <p>Restarts run on the supervisor's own thread, never on the failing verticle's: undeploying a
 * verticle waits for its context, which that thread would be holding.
 */
public final class Supervisor implements AutoCloseable {
  /** At most this many restarts of one part within {@link #DEFAULT_WINDOW}. */
  public static final int DEFAULT_MAX_RESTARTS = 3;

  public static final Duration DEFAULT_WINDOW = Duration.ofMinutes(10);

  private static final Duration STOP_WAIT = Duration.ofMinutes(2);

  /** A deployed part of the loop: it ends on its own only by failing, and stops on request. */
  public interface Part {
    /** Completes when the part stops; exceptionally when it failed. */
    CompletableFuture<Void> ended();

    /** Stops the part (closing its clients); once, later calls return at once. */
    void stop();
  }

  private final String name;
  private final Consumer<String> log;
  private final int maxRestarts;
  private final Duration window;
  private final ExecutorService restarter =
      Executors.newSingleThreadExecutor(
          r -> {
            var thread = new Thread(r, "rlhf-supervisor");
            thread.setDaemon(true);
            return thread;
          });
  private final List<Slot> slots = new ArrayList<>();
  private final CompletableFuture<Void> gaveUp = new CompletableFuture<>();
  private final AtomicInteger restarts = new AtomicInteger();
  private boolean closed;

  /** One supervised part: how to deploy it, the copy deployed now, its recent restarts. */
  private static final class Slot {
    final String name;
    final Supplier<? extends Part> deploy;
    final ArrayDeque<Long> restartTimes = new ArrayDeque<>();
    Part current;

    Slot(String name, Supplier<? extends Part> deploy) {
      this.name = name;
      this.deploy = deploy;
    }
  }

  /**
   * @param name signs the log lines, e.g. {@code ppo}
   * @param maxRestarts restarts of one part allowed within {@code window}
   */
  public Supervisor(String name, Consumer<String> log, int maxRestarts, Duration window) {
    if (maxRestarts < 0) throw new IllegalArgumentException("maxRestarts must be >= 0");
    this.name = name;
    this.log = log;
    this.maxRestarts = maxRestarts;
    this.window = window;
  }

  /**
   * A supervisor with {@link #DEFAULT_MAX_RESTARTS} restarts per part and {@link #DEFAULT_WINDOW}.
   */
  public Supervisor(String name, Consumer<String> log) {
    this(name, log, DEFAULT_MAX_RESTARTS, DEFAULT_WINDOW);
  }

  /**
   * Deploys a part with {@code deploy} (which blocks until it started, and throws when it cannot)
   * and supervises it; restarts call {@code deploy} again.
   */
  public <P extends Part> P start(String partName, Supplier<P> deploy) {
    var part = deploy.get();
    var slot = new Slot(partName, deploy);
    synchronized (this) {
      if (closed) {
        part.stop();
        throw new IllegalStateException(name + ": supervisor closed");
      }
      slot.current = part;
      slots.add(slot);
    }
    watch(slot, part);
    return part;
  }

  /** Restarts made so far, over all parts. */
  public int restarts() {
    return restarts.get();
  }

  /**
   * Never completes normally; fails (with an {@link IllegalStateException} whose message says which
   * part failed how often, and whose cause is its last failure) when the supervisor gave up on a
   * part.
   */
  public CompletableFuture<Void> gaveUp() {
    return gaveUp;
  }

  private void watch(Slot slot, Part part) {
    part.ended()
        .whenCompleteAsync(
            (ok, failure) -> {
              if (failure != null) replace(slot, part, unwrap(failure));
            },
            command -> {
              try {
                restarter.execute(command);
              } catch (RejectedExecutionException closing) {
                // closed: nothing is restarted any more
              }
            });
  }

  /** On the supervisor's thread: stops the failed copy and deploys a fresh one, within budget. */
  private void replace(Slot slot, Part failed, Throwable failure) {
    synchronized (this) {
      if (closed || slot.current != failed) return;
    }
    stopQuietly(failed);
    var last = failure;
    Part fresh = null;
    while (fresh == null) {
      long now = System.nanoTime();
      while (!slot.restartTimes.isEmpty() && now - slot.restartTimes.peekFirst() > window.toNanos())
        slot.restartTimes.removeFirst();
      if (slot.restartTimes.size() >= maxRestarts) {
        var message =
            String.format(
                "%s failed again after %d restart(s) within %d min, giving up: %s",
                slot.name, slot.restartTimes.size(), window.toMinutes(), summary(last));
        log.accept(name + ": " + message);
        gaveUp.completeExceptionally(new IllegalStateException(message, last));
        return;
      }
      slot.restartTimes.addLast(now);
      restarts.incrementAndGet();
      log.accept(
          String.format(
              "%s: %s; deploying a fresh %s with new Kafka clients (restart %d of %s within %d min,"
                  + " at most %d)",
              name,
              summary(last),
              slot.name,
              slot.restartTimes.size(),
              slot.name,
              window.toMinutes(),
              maxRestarts));
      if (last instanceof VerticleFailure v && v.internal()) logStackTrace(v.getCause());
      try {
        fresh = slot.deploy.get();
      } catch (RuntimeException e) {
        last = e;
        log.accept(name + ": " + slot.name + " did not start again: " + e.getMessage());
      }
    }
    synchronized (this) {
      if (closed) {
        stopQuietly(fresh);
        return;
      }
      slot.current = fresh;
    }
    watch(slot, fresh);
  }

  /**
   * Stops every part; a restart under way finishes first (and its fresh copy is stopped). Nothing
   * is restarted after this.
   */
  @Override
  public void close() {
    List<Part> running;
    synchronized (this) {
      if (closed) return;
      closed = true;
    }
    restarter.shutdown();
    try {
      if (!restarter.awaitTermination(STOP_WAIT.toSeconds(), TimeUnit.SECONDS))
        log.accept(
            name + ": a restart under way did not finish within " + Durations.readable(STOP_WAIT));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    synchronized (this) {
      running = slots.stream().map(s -> s.current).toList();
    }
    for (var part : running) stopQuietly(part);
  }

  private void stopQuietly(Part part) {
    try {
      part.stop();
    } catch (RuntimeException e) {
      log.accept(name + ": stopping a part failed: " + e.getMessage());
    }
  }

  private void logStackTrace(Throwable t) {
    var trace = new StringWriter();
    t.printStackTrace(new PrintWriter(trace));
    trace.toString().lines().forEach(log);
  }

  private static Throwable unwrap(Throwable t) {
    return t instanceof CompletionException && t.getCause() != null ? t.getCause() : t;
  }

  private static String summary(Throwable t) {
    return t instanceof VerticleFailure ? t.getMessage() : String.valueOf(t);
  }
}
