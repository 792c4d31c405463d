package io.streamrlhf.infra.scale;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The CPU time (user + system, as the OS counts it: {@link ProcessHandle.Info#totalCpuDuration}) of
 * a loop's processes, read every {@code period} from a thread of its own: what the broker really
 * spends beside the actors on their core, to check the costs the scale model reads from the stamps.
 */
final class CpuSampler implements AutoCloseable {
  /** A process's CPU seconds so far, read at {@code millis} (epoch). */
  record Sample(String source, long millis, double cpuS) {}

  private final Supplier<List<Map.Entry<String, ProcessHandle>>> processes;
  private final List<Sample> samples = new ArrayList<>();
  private final Thread thread;

  /** Starts sampling what {@code processes} names (source → process) at each turn. */
  CpuSampler(Supplier<List<Map.Entry<String, ProcessHandle>>> processes, Duration period) {
    this.processes = processes;
    this.thread =
        new Thread(
            () -> {
              try {
                while (!Thread.currentThread().isInterrupted()) {
                  sampleNow();
                  Thread.sleep(period.toMillis());
                }
              } catch (InterruptedException stopped) {
                // closed
              }
            },
            "cpu-sampler");
    thread.setDaemon(true);
    thread.start();
  }

  /** One sample of every live process now. */
  void sampleNow() {
    var now = new ArrayList<Sample>();
    for (var p : processes.get()) {
      if (!p.getValue().isAlive()) continue;
      var cpu = p.getValue().info().totalCpuDuration();
      cpu.ifPresent(
          d -> now.add(new Sample(p.getKey(), System.currentTimeMillis(), d.toNanos() / 1e9)));
    }
    synchronized (samples) {
      samples.addAll(now);
    }
  }

  List<Sample> samples() {
    synchronized (samples) {
      return List.copyOf(samples);
    }
  }

  @Override
  public void close() {
    thread.interrupt();
    try {
      thread.join(5_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
