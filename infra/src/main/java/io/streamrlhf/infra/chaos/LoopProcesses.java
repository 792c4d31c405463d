package io.streamrlhf.infra.chaos;

import io.streamrlhf.model.checkpoint.Checkpoint;
import io.streamrlhf.schemas.signing.SigningKeys;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import java.util.regex.Pattern;

/**
 * The processes of one streaming loop under chaos, every one a child JVM on loopback: a broker
 * ({@code rlhf broker}, with a data directory of its own so it can be stopped and started again on
 * the same port), rollout actors ({@code rlhf actor}) and learners ({@code rlhf learner}).
 *
 * <p>The restart policy of a supervisor (systemd, Kubernetes): a process that exits by itself with
 * a non-zero code is started again, a learner with {@code --resume}, and counted as an unplanned
 * restart; past {@link #MAX_UNPLANNED_RESTARTS} for one process the scenario fails as a crash loop.
 * Exits chaos caused (SIGKILL, SIGTERM) or expects ({@link ChildJvm#expectExit}) are the scenario's
 * to answer. Any other exit nothing restarts (the broker's, a learner started without restarts)
 * fails the scenario at once, naming the process, its exit code and its last lines: no wait runs
 * out its bound on a process that is gone. Processes are checked whenever the scenario waits
 * ({@link #await}, {@link #awaitFinished}, {@link #idle}), so every wait is also a supervision
 * round.
 */
public final class LoopProcesses implements AutoCloseable {
  /** A process that keeps failing after this many restarts is a crash loop. */
  static final int MAX_UNPLANNED_RESTARTS = 2;

  private static final Duration STEP = Duration.ofMillis(250);
  private static final Duration STOP_GRACE = Duration.ofSeconds(30);
  private static final Duration BROKER_READY = Duration.ofMinutes(2);
  private static final Pattern READY = Pattern.compile("Kafka broker ready at (\\S+) ");
  private static final Pattern UPDATE = Pattern.compile("^learner: update (\\d+)/(\\d+)");

  /**
   * The bound of every actor's and learner's broker check ({@code BrokerCheck}'s override, {@code
   * -Drlhf.kafka.wait}). The user-facing 15 s is there to name a wrong --bootstrap quickly; chaos
   * starts its processes only once its own broker said it was ready, so a slow answer here is a
   * loaded machine (a fresh JVM loading Kafka's client while the broker serves the rest of the
   * loop), not a wrong address. A minute, as long as the loop may go without an update.
   */
  static final Duration BROKER_CHECK_WAIT = Duration.ofSeconds(60);

  static final String BROKER_CHECK_WAIT_PROPERTY = "rlhf.kafka.wait";

  /** How many of its last lines a failure quotes of a process that exited. */
  private static final int TAIL_LINES = 5;

  private final ChaosRun run;
  private final Transcript transcript;
  private final Path configFile;
  private final Duration rolloutWait;
  private final Duration stallBound;
  private final List<String> jvmFlags;
  private final Path brokerData;
  private final Path signingKeys;
  private final Map<String, Role> roles = new LinkedHashMap<>();
  private ChildJvm broker;
  private int brokerStarts;
  private String bootstrap;
  private int unplannedRestarts;

  /** One supervised process: a learner or an actor, and its incarnations so far. */
  private final class Role {
    final String name;
    final boolean learner;
    final Path out;
    final boolean restartOnFailure;
    final String cpus;
    ChildJvm current;
    int starts;
    int unplanned;

    Role(String name, boolean learner, Path out, boolean restartOnFailure, String cpus) {
      this.name = name;
      this.learner = learner;
      this.out = out;
      this.restartOnFailure = restartOnFailure;
      this.cpus = cpus;
    }

    void start(boolean resume, Map<String, String> properties) {
      var args = new ArrayList<>(learner ? learnerArgs(out, resume) : actorArgs(name));
      if (cpus != null) args.addAll(List.of("--cpus", cpus));
      var source = starts == 0 ? name : name + "#" + (starts + 1);
      starts++;
      var all = new LinkedHashMap<String, String>();
      all.put(BROKER_CHECK_WAIT_PROPERTY, BROKER_CHECK_WAIT.toString());
      all.putAll(properties);
      current = ChildJvm.start(source, args, run.settings().childHeap(), jvmFlags, all, transcript);
    }
  }

  /**
   * @param configFile the PPO config every process reads ({@code --config}), the learners'
   *     effective config
   * @param dir where the broker keeps its data
   * @param stallBound {@link #awaitFinished} fails when the learner goes this long without an
   *     update
   * @param jvmFlags JVM flags every process gets beyond the usual ones
   */
  LoopProcesses(
      ChaosRun run,
      Transcript transcript,
      Path configFile,
      Path dir,
      Duration stallBound,
      List<String> jvmFlags) {
    this.run = run;
    this.transcript = transcript;
    this.configFile = configFile;
    this.brokerData = dir.resolve("broker-data");
    // one key pair for every learner of the scenario, made before any process starts, so each actor
    // can check policy versions from its start: a forged version never applies
    this.signingKeys = dir.resolve("signing");
    SigningKeys.inDirectory(signingKeys);
    // the outage and a restart must fit in one update's wait, or the learner gives up by design
    this.rolloutWait = Duration.ofMinutes(3).plus(run.settings().outage());
    this.stallBound = stallBound;
    this.jvmFlags = List.copyOf(jvmFlags);
  }

  public Transcript transcript() {
    return transcript;
  }

  /** {@code host:port} of the broker; the same across broker restarts. */
  public String bootstrap() {
    return bootstrap;
  }

  public int unplannedRestarts() {
    return unplannedRestarts;
  }

  // ---- the broker

  /** Starts the broker (the first time on a free port, then on the same one) and waits for it. */
  public void startBroker() throws InterruptedException {
    int port =
        bootstrap == null
            ? 0
            : Integer.parseInt(bootstrap.substring(bootstrap.lastIndexOf(':') + 1));
    var source = brokerStarts == 0 ? "broker" : "broker#" + (brokerStarts + 1);
    brokerStarts++;
    int from = transcript.size();
    broker =
        ChildJvm.start(
            source,
            List.of(
                "broker",
                "--port",
                Integer.toString(port),
                "--data-dir",
                brokerData.toString(),
                "--ready-timeout",
                "PT90S"),
            run.settings().childHeap(),
            jvmFlags,
            Map.of(),
            transcript);
    var ready =
        await(source, from, l -> READY.matcher(l.text()).find(), "ready line", BROKER_READY);
    var m = READY.matcher(ready.text());
    m.find();
    bootstrap = m.group(1);
  }

  /** Stops the broker with SIGTERM (a clean shutdown), SIGKILL after a grace period. */
  public void stopBroker() {
    transcript.note("stopping " + broker.source() + " (SIGTERM)");
    broker.stop(STOP_GRACE);
    transcript.note(broker.source() + " stopped");
  }

  public ChildJvm broker() {
    return broker;
  }

  // ---- learners and actors

  /**
   * Starts a learner writing to {@code out}.
   *
   * @param restartOnFailure whether the supervisor restarts it (with --resume) when it fails
   * @param properties system properties for this incarnation only (fault hooks)
   */
  public ChildJvm startLearner(
      String name,
      Path out,
      boolean resume,
      boolean restartOnFailure,
      Map<String, String> properties) {
    return startLearner(name, out, resume, restartOnFailure, properties, null);
  }

  /**
   * As {@link #startLearner(String, Path, boolean, boolean, Map)}, pinned to CPU list {@code cpus}
   * ({@code rlhf learner --cpus}; null: not pinned), every incarnation alike.
   */
  public ChildJvm startLearner(
      String name,
      Path out,
      boolean resume,
      boolean restartOnFailure,
      Map<String, String> properties,
      String cpus) {
    var role = new Role(name, true, out, restartOnFailure, cpus);
    roles.put(name, role);
    role.start(resume, properties);
    return role.current;
  }

  public ChildJvm startActor(String name) {
    return startActor(name, null);
  }

  /** Starts actor {@code name} pinned to CPU list {@code cpus} ({@code rlhf actor --cpus}). */
  public ChildJvm startActor(String name, String cpus) {
    var role = new Role(name, false, null, true, cpus);
    roles.put(name, role);
    role.start(false, Map.of());
    return role.current;
  }

  /** The current incarnation of {@code name}. */
  public ChildJvm process(String name) {
    return role(name).current;
  }

  /** The actors and learners started so far, current incarnations. */
  public List<ChildJvm> processes() {
    var all = new ArrayList<ChildJvm>();
    roles.values().forEach(r -> all.add(r.current));
    return all;
  }

  /** SIGKILL to {@code name}; returns when it is gone. */
  public long kill(String name) {
    var p = role(name).current;
    transcript.note("SIGKILL " + p.source() + " (pid " + p.pid() + ")");
    long at = System.nanoTime();
    p.kill();
    return at;
  }

  /** Starts {@code name} again after chaos ended it (a learner with --resume when it can). */
  public ChildJvm restart(String name) {
    var role = role(name);
    role.start(role.learner && Checkpoint.exists(role.out), Map.of());
    return role.current;
  }

  /** SIGTERM to {@code name} (actors serve until told to stop); it is not restarted. */
  public void stop(String name) {
    var p = role(name).current;
    if (p.alive()) transcript.note("stopping " + p.source() + " (SIGTERM)");
    p.stop(STOP_GRACE);
  }

  // ---- waiting, with supervision

  /**
   * Waits for a line of {@code process} (any incarnation of an actor or learner, or the broker
   * incarnation named) from index {@code from} of the transcript on that matches, supervising the
   * processes while it waits.
   *
   * @param what what the line says, for a failure ("update 4")
   * @throws ScenarioFailure at once when {@code process} exits without printing it and nothing
   *     restarts it (or another process does, see {@link #supervise}); when none arrives within
   *     {@code timeout}; or when a process crash-loops
   */
  public Transcript.Line await(
      String process, int from, Predicate<Transcript.Line> match, String what, Duration timeout)
      throws InterruptedException {
    Predicate<Transcript.Line> mine = l -> l.from(process) && match.test(l);
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      var line = transcript.awaitStep(from, mine, STEP);
      if (line != null) return line;
      var p = current(process);
      if (!p.alive() && !restarts(process, p)) {
        p.awaitExit(Duration.ZERO); // its last lines into the transcript
        line = transcript.find(from, mine);
        if (line != null) return line;
        throw exited(p, "before its " + what);
      }
      supervise(); // restarts what the supervisor restarts; fails on what it cannot
      if (System.nanoTime() > deadline) {
        throw new ScenarioFailure(
            "no "
                + what
                + " from "
                + process
                + " within "
                + timeout.toSeconds()
                + " s; its last lines: "
                + lastLines(p.source()));
      }
    }
  }

  /** Lets {@code time} pass, supervising the processes meanwhile. */
  public void idle(Duration time) throws InterruptedException {
    long until = System.nanoTime() + time.toNanos();
    for (long left; (left = until - System.nanoTime()) > 0; ) {
      transcript.awaitStep(
          transcript.size(), l -> false, Duration.ofNanos(Math.min(left, STEP.toNanos())));
      supervise();
    }
  }

  /** Waits for {@code learner} to print its {@code update}-th update line (any incarnation). */
  public Transcript.Line awaitUpdate(String learner, long update, Duration timeout)
      throws InterruptedException {
    return await(learner, 0, l -> updateOf(l) == update, "update " + update, timeout);
  }

  /**
   * Waits until {@code name} exits with code 0 (a learner that finished), supervising: a failed
   * incarnation is restarted, so only a crash loop or the deadline ends the wait early.
   */
  public void awaitFinished(String name, Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    long progress = System.nanoTime();
    while (true) {
      var role = role(name);
      var current = role.current;
      if (current.awaitExit(STEP)) {
        int code = current.exitCode().orElse(-1);
        if (code == 0) return;
        if (!role.restartOnFailure || current.signalled())
          throw exited(current, "before it finished");
      }
      supervise();
      var update = transcript.findLast(l -> l.from(name) && updateOf(l) > 0);
      if (update != null) progress = Math.max(progress, update.nanos());
      if (System.nanoTime() - progress > stallBound.toNanos()) {
        throw new ScenarioFailure(
            "the loop stalled: no update of "
                + name
                + " for "
                + stallBound.toSeconds()
                + " s; learner's last lines: "
                + transcript.tail(name, 3)
                + "; actors' last lines: "
                + transcript.tail("actor-1", 2));
      }
      if (System.nanoTime() > deadline) {
        throw new ScenarioFailure(
            name
                + " did not finish within "
                + timeout.toSeconds()
                + " s; its last lines: "
                + transcript.tail(name, 3));
      }
    }
  }

  /** The update number of a learner's progress line, or -1. */
  public static long updateOf(Transcript.Line line) {
    var m = UPDATE.matcher(line.text());
    return m.find() ? Long.parseLong(m.group(1)) : -1;
  }

  /** The first learner update line printed after {@code nanos}, or null. */
  public Transcript.Line firstUpdateAfter(String learner, long nanos) {
    return transcript.find(0, l -> l.nanos() > nanos && l.from(learner) && updateOf(l) > 0);
  }

  /**
   * One supervision round: a process that exited by itself with a non-zero code is restarted and
   * counted, except with code 2 (a usage mistake) while the broker is up, which fails the scenario;
   * a learner that exited 0 finished. A process nothing restarts (the broker, a learner started
   * without restarts) that exited by itself fails the scenario at once.
   */
  void supervise() {
    requireBroker();
    for (var role : roles.values()) {
      var p = role.current;
      if (p.alive() || p.signalled()) continue;
      int code = p.exitCode().orElse(0);
      if (code == 0 && role.learner) continue; // finished
      if (!role.restartOnFailure) throw exited(p, "by itself, and nothing restarts it");
      // exit 2 is a usage mistake (README), which a restart would repeat; but while chaos holds
      // the broker down, a check that found no broker exits 2 as well, and a restart mends that
      if (code == 2 && broker != null && broker.alive())
        throw new ScenarioFailure(
            role.name
                + " exited with code 2, a mistake in its flags or inputs that a restart would"
                + " repeat: "
                + lastLines(p.source()));
      role.unplanned++;
      unplannedRestarts++;
      if (role.unplanned > MAX_UNPLANNED_RESTARTS) {
        throw new ScenarioFailure(
            role.name
                + " crash-looped: exited by itself "
                + role.unplanned
                + " times (last code "
                + code
                + "); its last lines: "
                + lastLines(p.source()));
      }
      transcript.note(
          p.source()
              + " exited by itself with code "
              + code
              + ": restarting it (unplanned restart "
              + role.unplanned
              + " of at most "
              + MAX_UNPLANNED_RESTARTS
              + ")");
      role.start(role.learner && Checkpoint.exists(role.out), Map.of());
    }
  }

  /** Fails the scenario at once when the broker exited and chaos did not stop it. */
  void requireBroker() {
    if (broker != null && !broker.alive() && !broker.signalled())
      throw exited(broker, "by itself (the broker stays up until chaos stops it)");
  }

  /**
   * The failure of a scenario whose process {@code p} exited ({@code when}: "before its update 4"):
   * its name, pid, exit code and last lines.
   */
  ScenarioFailure exited(ChildJvm p, String when) {
    p.awaitExit(Duration.ZERO); // the reader has its last lines
    return new ScenarioFailure(
        p.source()
            + " (pid "
            + p.pid()
            + ") exited with code "
            + p.exitCode().orElse(-1)
            + " "
            + when
            + "; its last lines: "
            + lastLines(p.source()));
  }

  private String lastLines(String source) {
    var tail = transcript.tail(source, TAIL_LINES);
    return tail.isEmpty() ? "(none)" : tail;
  }

  // ---- command lines

  private List<String> learnerArgs(Path out, boolean resume) {
    var args =
        new ArrayList<>(
            List.of(
                "learner",
                "--bootstrap",
                bootstrap,
                "--sft",
                run.sft().toString(),
                "--rm",
                run.rm().toString(),
                "--config",
                configFile.toString(),
                "--out",
                out.toString(),
                "--rollout-wait",
                rolloutWait.toString(),
                "--signing-key",
                signingKeys.resolve(SigningKeys.PRIVATE_FILE).toString()));
    if (resume) args.add("--resume");
    return args;
  }

  private List<String> actorArgs(String id) {
    return List.of(
        "actor",
        "--bootstrap",
        bootstrap,
        "--sft",
        run.sft().toString(),
        "--rm",
        run.rm().toString(),
        "--config",
        configFile.toString(),
        "--id",
        id,
        "--version-wait",
        rolloutWait.toString(),
        "--weights-key",
        signingKeys.resolve(SigningKeys.PUBLIC_FILE).toString());
  }

  /**
   * Whether the next supervision round starts {@code p}, the exited current incarnation of {@code
   * name}, again (so a wait on it goes on with the next one).
   */
  private boolean restarts(String name, ChildJvm p) {
    var role = roles.get(name);
    if (role == null || !role.restartOnFailure || p.signalled()) return false;
    return !(role.learner && p.exitCode().orElse(0) == 0);
  }

  /** The current incarnation of actor or learner {@code name}, or the broker called so. */
  private ChildJvm current(String name) {
    if (roles.containsKey(name)) return roles.get(name).current;
    if (broker != null && broker.source().equals(name)) return broker;
    throw new IllegalArgumentException("no process called " + name);
  }

  private Role role(String name) {
    var role = roles.get(name);
    if (role == null) throw new IllegalArgumentException("no process called " + name);
    return role;
  }

  /** Stops every actor and learner (SIGTERM), then the broker. */
  @Override
  public void close() {
    for (var role : roles.values()) {
      if (role.current.alive()) transcript.note("stopping " + role.current.source() + " (SIGTERM)");
      role.current.stop(STOP_GRACE);
    }
    if (broker != null && broker.alive()) stopBroker();
  }
}
