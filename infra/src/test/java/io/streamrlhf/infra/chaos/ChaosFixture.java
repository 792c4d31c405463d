package io.streamrlhf.infra.chaos;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * One chaos run for the scenario tests of this JVM: the tiny models are written and each
 * uninterrupted baseline computed once for all of them. Process output goes to stdout (the surefire
 * report); the poison rate is 10%, so a run of a few updates meets several kinds.
 */
final class ChaosFixture {
  private static ChaosRun run;

  private ChaosFixture() {}

  /** Another chaos run on the same directory and log, with different settings. */
  static ChaosRun chaos(java.util.function.UnaryOperator<ChaosSettings> change) {
    var shared = chaos();
    return new ChaosRun(change.apply(shared.settings()), shared.root(), shared.log());
  }

  static synchronized ChaosRun chaos() {
    if (run == null) {
      try {
        var root = Files.createTempDirectory("rlhf-chaos-test-");
        Runtime.getRuntime()
            .addShutdownHook(
                new Thread(
                    () -> {
                      try {
                        ChaosRun.deleteTree(root);
                      } catch (IOException ignored) {
                        // a temporary directory: the OS cleans it in the end
                      }
                    }));
        var settings =
            ChaosSettings.defaults().withPoisonRate(0.1).withBound(Duration.ofMinutes(5));
        // every process's output: thousands of lines, kept out of the build's console
        var log = Path.of("target", "chaos-tests.log").toAbsolutePath();
        System.out.println("chaos scenario tests: every process's output in " + log);
        run =
            new ChaosRun(
                settings,
                root,
                new PrintWriter(Files.newBufferedWriter(log, StandardCharsets.UTF_8), true));
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }
    return run;
  }

  /** The figures as the closing table prints them, for an assertion's description. */
  static String table(Figures figures) {
    var text = new java.io.StringWriter();
    Figures.printTable(java.util.List.of(figures), new PrintWriter(text));
    return text.toString();
  }

  static Path root() {
    return chaos().root();
  }
}
