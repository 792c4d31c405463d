package io.streamrlhf.infra.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Runs the project's PyTorch peer ({@code bench/peer.py}) in the same invocation as our own
 * measurements, so the two are compared on the same machine at the same time. Installs nothing:
 * where no Python with PyTorch answers, it says how to get one and the caller prints our figures
 * alone.
 */
public final class PeerRun {
  /** Debian's PyTorch first: it is the one the install hint names. */
  private static final List<String> PYTHONS = List.of("/usr/bin/python3", "python3");

  private static final long TIMEOUT_MINUTES = 15;

  public static final String INSTALL_HINT =
      "no Python with PyTorch found; install Debian's with: apt-get install -y python3-torch libopenblas0-pthread";

  private PeerRun() {}

  /** The outcome: the peer's JSON object, or why there is none. */
  public record Outcome(Optional<JsonNode> figures, String note) {}

  /**
   * Why the peer cannot run here (no script at {@code script}, or no Python with PyTorch), or null
   * when it can: asked before any measurement, so a comparison that cannot happen costs nothing.
   */
  public static String unavailable(Path script) {
    if (!Files.isRegularFile(script)) return "peer script not found at " + script;
    return PYTHONS.stream().anyMatch(PeerRun::hasTorch) ? null : INSTALL_HINT;
  }

  /** The peer with {@code repeats} repetitions of each measurement (after its warm-up). */
  public static Outcome run(Path script, int threads, int repeats) {
    if (!Files.isRegularFile(script)) {
      return new Outcome(Optional.empty(), "peer script not found at " + script);
    }
    var python = PYTHONS.stream().filter(PeerRun::hasTorch).findFirst();
    if (python.isEmpty()) {
      return new Outcome(Optional.empty(), INSTALL_HINT);
    }
    var command =
        new ArrayList<>(
            List.of(python.get(), script.toString(), "--threads", Integer.toString(threads)));
    command.add("--repeats");
    command.add(Integer.toString(repeats));
    try {
      var builder = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.INHERIT);
      untuned(builder.environment());
      var process = builder.start();
      var out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!process.waitFor(TIMEOUT_MINUTES, TimeUnit.MINUTES)) {
        process.destroyForcibly();
        return new Outcome(
            Optional.empty(), "peer did not finish within " + TIMEOUT_MINUTES + " minutes");
      }
      if (process.exitValue() != 0) {
        return new Outcome(Optional.empty(), "peer exited with code " + process.exitValue());
      }
      var lines = out.strip().split("\n");
      return new Outcome(
          Optional.of(new ObjectMapper().readTree(lines[lines.length - 1])), python.get());
    } catch (IOException e) {
      return new Outcome(Optional.empty(), "peer failed: " + e.getMessage());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return new Outcome(Optional.empty(), "interrupted while waiting for the peer");
    }
  }

  /**
   * The peer runs as a user would run it: the launcher's native tuning (the MKL vendor shim on
   * LD_PRELOAD, glibc malloc thresholds) is ours, so the peer gets the user's own values back.
   */
  static void untuned(Map<String, String> environment) {
    restore(environment, "LD_PRELOAD", System.getenv("RLHF_USER_LD_PRELOAD"));
    restore(environment, "GLIBC_TUNABLES", System.getenv("RLHF_USER_GLIBC_TUNABLES"));
  }

  private static void restore(Map<String, String> environment, String name, String userValue) {
    if (userValue == null) {
      return; // not started by the launcher: nothing of ours to take back
    }
    if (userValue.isEmpty()) {
      environment.remove(name);
    } else {
      environment.put(name, userValue);
    }
  }

  private static boolean hasTorch(String python) {
    try {
      var p =
          new ProcessBuilder(python, "-c", "import torch")
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.DISCARD)
              .start();
      return p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0;
    } catch (IOException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }
}
