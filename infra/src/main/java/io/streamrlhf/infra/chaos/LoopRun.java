package io.streamrlhf.infra.chaos;

import io.streamrlhf.learner.config.ConfigLoader;
import io.streamrlhf.learner.config.PpoConfig;
import io.streamrlhf.learner.stream.KafkaRollouts;
import io.streamrlhf.learner.train.TrainState;
import io.streamrlhf.model.checkpoint.Checkpoint;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * One scenario's loop as it runs: its directory, config, processes ({@link LoopProcesses}), the
 * clock of rollout arrivals, its deadline and the figures it collects; and, once the processes are
 * stopped, the figures every scenario reports from what the run left: the exactly-once account of
 * the learner's checkpoint and, where one actor ran with max_lag 0, the final weights against an
 * uninterrupted run's.
 */
public final class LoopRun implements AutoCloseable {
  /** The learner every scenario runs. */
  public static final String LEARNER = "learner";

  private final ChaosRun chaos;
  private final Figures.Builder figures;
  private final PpoConfig config;
  private final Path dir;
  private final int actors;
  private final long deadline;
  private final LoopProcesses processes;
  private RolloutArrivals arrivals;
  private Path accountedOut;
  private boolean closed;

  private LoopRun(
      ChaosRun chaos,
      Figures.Builder figures,
      PpoConfig config,
      Path dir,
      int actors,
      Duration stallBound,
      List<String> jvmFlags) {
    this.chaos = chaos;
    this.figures = figures;
    this.config = config;
    this.dir = dir;
    this.actors = actors;
    this.deadline = System.nanoTime() + chaos.settings().bound().toNanos();
    this.accountedOut = dir.resolve("learner-out");
    var log = chaos.log();
    this.processes =
        new LoopProcesses(
            chaos,
            new Transcript(log),
            dir.resolve("settings").resolve(ConfigLoader.FILE_NAME),
            dir,
            stallBound,
            jvmFlags);
  }

  /**
   * A broker, a tap on rollout arrivals and {@code actors} actors ({@code actor-1} ...), ready for
   * the scenario to start its learner.
   *
   * @param stallBound the run fails when its learner goes this long without an update
   * @param jvmFlags JVM flags of every process beyond the usual ones
   */
  public static LoopRun open(
      ChaosRun chaos,
      Figures.Builder figures,
      String scenario,
      PpoConfig config,
      int actors,
      Duration stallBound,
      List<String> jvmFlags)
      throws IOException, InterruptedException {
    var dir = chaos.scenarioDirectory(scenario);
    ConfigLoader.save(config, dir.resolve("settings"));
    var run = new LoopRun(chaos, figures, config, dir, actors, stallBound, jvmFlags);
    run.processes.startBroker();
    run.arrivals = new RolloutArrivals(run.processes.bootstrap());
    for (int i = 1; i <= actors; i++) run.processes.startActor(actorName(i));
    return run;
  }

  public static String actorName(int i) {
    return "actor-" + i;
  }

  public LoopProcesses processes() {
    return processes;
  }

  public Transcript transcript() {
    return processes.transcript();
  }

  public Figures.Builder figures() {
    return figures;
  }

  public PpoConfig config() {
    return config;
  }

  public ChaosRun chaos() {
    return chaos;
  }

  public Path dir() {
    return dir;
  }

  public PrintWriter log() {
    return chaos.log();
  }

  /** The learner's output directory (its checkpoints). */
  public Path out() {
    return dir.resolve("learner-out");
  }

  /** Where the exactly-once account reads the applied rollouts from (default: {@link #out}). */
  public void accountFrom(Path out) {
    this.accountedOut = out;
  }

  /** Time left of the scenario's bound; every wait takes at most this. */
  public Duration remaining() {
    return Duration.ofNanos(Math.max(0, deadline - System.nanoTime()));
  }

  /** Starts the learner on {@link #out}, with fault-hook properties for its first incarnation. */
  public ChildJvm startLearner(Map<String, String> properties) {
    return processes.startLearner(LEARNER, out(), false, true, properties);
  }

  /** Waits (supervising) until the learner finished all its updates. */
  public void awaitLearnerFinished() throws InterruptedException {
    processes.awaitFinished(LEARNER, remaining());
  }

  /** Stops every process; idempotent. */
  @Override
  public void close() {
    if (closed) return;
    closed = true;
    try {
      if (arrivals != null) {
        arrivals.close(); // before the broker stops, so it does not retry a closed port
        figures.rolloutGap(arrivals.longestGapSeconds());
      }
    } finally {
      processes.close();
      figures.restarts(processes.unplannedRestarts());
    }
  }

  /**
   * The figures of what the run left (call after {@link #close}): the exactly-once account of the
   * checkpoint in the accounted directory over batches 0 .. {@code batches} − 1, and the final
   * weights against the uninterrupted run's where one actor ran with max_lag 0 and the run
   * finished.
   */
  public void conclude(long batches) {
    if (!Checkpoint.exists(accountedOut)) {
      figures.prompts(PromptAccount.none(batches, config.promptsPerBatch()));
      figures.fail("the learner left no checkpoint in " + accountedOut);
      return;
    }
    try {
      var ids = KafkaRollouts.appliedRolloutIds(accountedOut);
      var account =
          PromptAccount.of(
              ids, null, batches, config.promptsPerBatch(), config.responsesPerPrompt());
      figures.prompts(account);
      figures.check(
          account.exactlyOnce(),
          String.format(
              "%d of %d prompts trained on exactly once (%d with a rollout applied twice, %d with a"
                  + " rollout never applied); %d rollout ids applied twice",
              account.promptsTrained(),
              account.promptsExpected(),
              account.promptsDuplicated(),
              account.promptsLost(),
              account.rolloutsDuplicated()));
      long step = Checkpoint.trainState(accountedOut, TrainState.class).step();
      if (actors == 1 && config.maxLag() == 0 && step == config.updates()) {
        double difference = ChaosRun.maxWeightDifference(accountedOut, chaos.baseline(config));
        boolean equal = difference < ChaosRun.WEIGHT_TOLERANCE;
        figures.weights(difference, equal);
        figures.check(
            equal,
            String.format(
                "the final weights differ from an uninterrupted run's on the same seed by %.2e (tolerance"
                    + " %.0e)",
                difference, ChaosRun.WEIGHT_TOLERANCE));
      }
    } catch (IOException | RuntimeException e) {
      figures.fail("cannot read the learner's checkpoint in " + accountedOut + ": " + e);
    }
  }
}
