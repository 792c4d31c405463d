package io.streamrlhf.infra.chaos;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.streamrlhf.learner.config.ConfigLoader;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A chaos wait on a real child process that exits early ends as soon as it exits, with a failure
 * that names the process, its exit code and its last lines, not when the wait's bound runs out. The
 * bounds given are minutes; the message tells which way the wait ended (a bound that ran out says
 * "within"), and the class timeout only keeps a regression from hanging the build.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
class LoopProcessesTest {
  private static final Duration LONG = Duration.ofMinutes(10);

  @TempDir Path dir;
  private final StringWriter log = new StringWriter();

  /**
   * The broker's data directory is a file and it exits at once: the wait for its ready line ends
   * with that.
   */
  @Test
  void aWaitForTheBrokerEndsWhenItExitsWithItsCodeAndLastLines() throws Exception {
    Files.writeString(dir.resolve("broker-data"), "a file where the broker's directory goes");
    try (var processes = processes(ChaosSettings.defaults())) {
      var failure = catchThrowableOfType(processes::startBroker, ScenarioFailure.class);

      assertThat(failure).as(log.toString()).isNotNull();
      assertThat(failure.getMessage())
          .as(log.toString())
          .startsWith("broker (pid ")
          .contains("exited with code 2 before its ready line")
          .contains("--data-dir " + dir.resolve("broker-data") + " is a file: give a directory")
          .doesNotContain("within");
      assertThat(processes.broker().alive()).isFalse();
    }
  }

  /**
   * As in {@code second-learner}: a learner started without restarts (the copy) exits at once (here
   * for a missing --sft): the wait for its update ends with that, and names it.
   */
  @Test
  void aWaitForAnUpdateEndsWhenTheLearnerNothingRestartsExits() throws Exception {
    var settings = withModels(dir.resolve("no-sft"), dir.resolve("no-rm"));
    try (var processes = processes(settings)) {
      processes.startBroker();
      var copy = processes.startLearner("learner-copy", dir.resolve("out"), false, false, Map.of());

      var failure =
          catchThrowableOfType(
              () -> processes.awaitUpdate("learner-copy", 4, LONG), ScenarioFailure.class);

      assertThat(failure).as(log.toString()).isNotNull();
      assertThat(failure.getMessage())
          .as(log.toString())
          .startsWith("learner-copy (pid " + copy.pid() + ") exited with code 2")
          .contains(dir.resolve("no-sft").toString())
          .doesNotContain("within");
      assertThat(processes.broker().alive()).as("the broker was not what failed").isTrue();
    }
  }

  /**
   * A supervised learner that exits 2 (here for a missing --sft) would exit 2 again on every
   * restart: the wait ends at its first exit, naming the usage mistake, with no restart.
   */
  @Test
  void aSupervisedProcessThatExits2IsNotRestartedButFailsTheScenario() throws Exception {
    var settings = withModels(dir.resolve("no-sft"), dir.resolve("no-rm"));
    try (var processes = processes(settings)) {
      processes.startBroker();
      processes.startLearner("learner", dir.resolve("out"), false, true, Map.of());

      var failure =
          catchThrowableOfType(
              () -> processes.awaitUpdate("learner", 4, LONG), ScenarioFailure.class);

      assertThat(failure).as(log.toString()).isNotNull();
      assertThat(failure.getMessage())
          .as(log.toString())
          .startsWith("learner exited with code 2, a mistake in its flags or inputs")
          .contains(dir.resolve("no-sft").toString());
      assertThat(log.toString()).doesNotContain("restarting it");
    }
  }

  /**
   * While chaos holds the broker down, an exit 2 may be a broker check that found none: restarted
   * as any failure is (here it repeats, so the wait ends as a crash loop, not at the first exit).
   */
  @Test
  void anExit2WhileTheBrokerIsDownIsRestartedLikeAnyFailure() throws Exception {
    var settings = withModels(dir.resolve("no-sft"), dir.resolve("no-rm"));
    try (var processes = processes(settings)) {
      processes.startBroker();
      processes.stopBroker();
      processes.startLearner("learner", dir.resolve("out"), false, true, Map.of());

      var failure =
          catchThrowableOfType(
              () -> processes.awaitUpdate("learner", 4, LONG), ScenarioFailure.class);

      assertThat(failure).as(log.toString()).isNotNull();
      assertThat(failure.getMessage()).as(log.toString()).startsWith("learner crash-looped");
      assertThat(log.toString()).contains("restarting it");
    }
  }

  private static ChaosSettings withModels(Path sft, Path rm) {
    var defaults = ChaosSettings.defaults();
    return new ChaosSettings(
        defaults.seed(),
        defaults.outage(),
        defaults.soak(),
        defaults.sampleEvery(),
        defaults.poisonRate(),
        defaults.maxRssSlopeMbPerHour(),
        defaults.recoveryBound(),
        defaults.childHeap(),
        defaults.bound(),
        sft,
        rm);
  }

  private LoopProcesses processes(ChaosSettings settings) throws Exception {
    var settingsDir = dir.resolve("settings");
    ConfigLoader.save(TinyModels.config(4, 0, settings.seed()), settingsDir);
    var chaos = new ChaosRun(settings, dir, new PrintWriter(log, true));
    return new LoopProcesses(
        chaos,
        new Transcript(new PrintWriter(log, true)),
        settingsDir.resolve(ConfigLoader.FILE_NAME),
        dir,
        Duration.ofSeconds(60),
        java.util.List.of());
  }
}
