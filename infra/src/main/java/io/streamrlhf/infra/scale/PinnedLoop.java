package io.streamrlhf.infra.scale;

import io.streamrlhf.infra.chaos.ChildJvm;
import io.streamrlhf.infra.chaos.Transcript;
import io.streamrlhf.learner.stream.StreamStats;
import io.streamrlhf.schemas.AvroCodec;
import io.streamrlhf.schemas.Rollout;
import io.streamrlhf.schemas.Topics;
import io.streamrlhf.schemas.transport.Durations;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.Writer;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * One measured loop: a broker, N actors and a learner, each a child JVM of this one ({@link
 * ChildJvm}, as {@code rlhf race} starts its actor and learner) pinned by its own {@code --cpus
 * LIST}: the broker and the actors on the actors' CPUs, the learner on its own. Every output line
 * is timestamped as it arrives; after the learner finished, the rollouts are read back from the
 * broker for their own timestamps. Every child's CPU time is read from the OS every {@link
 * #CPU_PERIOD} ({@link CpuSampler}) and saved beside them.
 */
final class PinnedLoop {
  private static final Pattern READY = Pattern.compile("Kafka broker ready at (\\S+) ");
  private static final Pattern ASSIGNED =
      Pattern.compile("^(\\S+): assigned prompt partitions \\[(.*)]");
  private static final Duration START = Duration.ofMinutes(3);
  private static final Duration RUN = Duration.ofMinutes(30);
  private static final Duration STOP_GRACE = Duration.ofSeconds(30);
  private static final String HEAP = "1g";
  static final Duration CPU_PERIOD = Duration.ofMillis(200);
  private static final AvroCodec<Rollout> ROLLOUTS = AvroCodec.of(Rollout.class);

  /** One output line and when it arrived (epoch millis). */
  record Line(String source, long millis, String text) {}

  /**
   * One child process: {@code rlhf ARGS --cpus CPUS}, its JVM told it has as many processors as
   * {@code cpus} names ({@code -XX:ActiveProcessorCount}), so that it sizes its GC and compiler
   * threads as a machine of that size would, as it did when it started under {@code taskset -c}.
   */
  record Child(String source, String cpus, List<String> args) {
    List<String> command() {
      var command = new ArrayList<>(args);
      command.addAll(List.of("--cpus", cpus));
      return command;
    }

    List<String> jvmFlags() {
      return List.of("-XX:ActiveProcessorCount=" + ScaleValidation.cpuCount(cpus));
    }
  }

  private final Path runDir;
  private final Path models;
  private final Path configFile;
  private final int actors;
  private final int actorBatchPrompts;
  private final String learnerCpus;
  private final String actorCpus;
  // the children's lines are kept, not echoed: the command prints its own summary of each run
  private final Transcript transcript = new Transcript(new PrintWriter(Writer.nullWriter()));
  private final List<ChildJvm> processes = new ArrayList<>();

  /**
   * @param actorBatchPrompts the actors sample at most this many prompts at once ({@code --set
   *     prompts_per_batch=N} on their command line only: an actor's one use of the key); 0: as the
   *     config says, the learner's batch
   */
  PinnedLoop(
      Path runDir,
      Path models,
      Path configFile,
      int actors,
      int actorBatchPrompts,
      String learnerCpus,
      String actorCpus) {
    if (actorBatchPrompts < 0)
      throw new IllegalArgumentException(
          "actorBatchPrompts must be >= 0, got " + actorBatchPrompts);
    this.runDir = runDir;
    this.models = models;
    this.configFile = configFile;
    this.actors = actors;
    this.actorBatchPrompts = actorBatchPrompts;
    this.learnerCpus = learnerCpus;
    this.actorCpus = actorCpus;
  }

  MeasuredRun run() throws IOException, InterruptedException {
    var cpu = new CpuSampler(this::handles, CPU_PERIOD);
    try {
      start(broker());
      var ready =
          await(l -> l.source().equals("broker") && READY.matcher(l.text()).find(), "broker");
      var m = READY.matcher(ready.text());
      m.find();
      String bootstrap = m.group(1);
      for (int a = 0; a < actors; a++) start(actor(bootstrap, a));
      awaitAssignment();
      var learner = start(learner(bootstrap));
      if (!learner.awaitExit(RUN))
        throw new IllegalStateException(
            "the learner did not finish within " + Durations.readable(RUN) + tail());
      int code = learner.exitCode().orElse(-1);
      if (code != 0) throw new IllegalStateException("the learner exited with " + code + tail());
      cpu.sampleNow(); // the broker's and the actors' last
      cpu.close();
      var run =
          new MeasuredRun(
              StreamStats.Summary.read(learnerOut()),
              lines(),
              readRollouts(bootstrap),
              cpu.samples());
      run.save(runDir);
      return run;
    } finally {
      cpu.close();
      for (int i = processes.size() - 1; i >= 0; i--) processes.get(i).stop(STOP_GRACE);
    }
  }

  /** The children started so far, by source. */
  private List<Map.Entry<String, ProcessHandle>> handles() {
    synchronized (processes) {
      return processes.stream().map(p -> Map.entry(p.source(), p.handle())).toList();
    }
  }

  /** {@code rlhf broker} on a free port, on the actors' CPUs. */
  Child broker() {
    return new Child(
        "broker",
        actorCpus,
        List.of("broker", "--port", "0", "--data-dir", "" + runDir.resolve("broker")));
  }

  /**
   * {@code rlhf actor} number {@code a}, on the actors' CPUs, sampling at most {@code
   * actorBatchPrompts} prompts at once when that is set.
   */
  Child actor(String bootstrap, int a) {
    String id = "actor-" + a;
    var args = loopArgs("actor", bootstrap);
    args.addAll(List.of("--id", id));
    if (actorBatchPrompts > 0)
      args.addAll(List.of("--set", "prompts_per_batch=" + actorBatchPrompts));
    return new Child(id, actorCpus, List.copyOf(args));
  }

  /** {@code rlhf learner} on the learner's CPUs. */
  Child learner(String bootstrap) {
    var args = loopArgs("learner", bootstrap);
    args.addAll(List.of("--out", "" + learnerOut()));
    return new Child("learner", learnerCpus, List.copyOf(args));
  }

  /** {@code rlhf COMMAND} against the broker with the run's models and config. */
  private List<String> loopArgs(String command, String bootstrap) {
    return new ArrayList<>(
        List.of(
            command,
            "--bootstrap",
            bootstrap,
            "--sft",
            "" + models.resolve("sft"),
            "--rm",
            "" + models.resolve("rm"),
            "--config",
            "" + configFile));
  }

  private Path learnerOut() {
    return runDir.resolve("learner");
  }

  private ChildJvm start(Child child) {
    var process =
        ChildJvm.start(
            child.source(), child.command(), HEAP, child.jvmFlags(), Map.of(), transcript);
    synchronized (processes) {
      processes.add(process);
    }
    return process;
  }

  /** The children's lines so far (without the notes {@link ChildJvm} adds when it starts one). */
  private List<Line> lines() {
    var lines = new ArrayList<Line>();
    for (var l : transcript.lines())
      if (!l.source().equals("chaos")) lines.add(new Line(l.source(), l.millis(), l.text()));
    return lines;
  }

  private Line await(Predicate<Line> match, String what) throws InterruptedException {
    long deadline = System.nanoTime() + START.toNanos();
    while (System.nanoTime() < deadline) {
      for (var l : lines()) if (match.test(l)) return l;
      for (var p : processes)
        if (!p.alive()) throw new IllegalStateException(what + ": a process exited" + tail());
      Thread.sleep(100);
    }
    throw new IllegalStateException("no " + what + " within " + Durations.readable(START) + tail());
  }

  /** Until the actors' group shares every prompt partition (the last assignment of each). */
  private void awaitAssignment() throws InterruptedException {
    long deadline = System.nanoTime() + START.toNanos();
    int want = Math.min(actors, Topics.PROMPT_PARTITIONS);
    while (System.nanoTime() < deadline) {
      var latest = new HashMap<String, Integer>();
      for (var l : lines()) {
        var m = ASSIGNED.matcher(l.text());
        if (m.find()) latest.put(m.group(1), m.group(2).split(",").length);
      }
      if (latest.size() == want
          && latest.values().stream().mapToInt(Integer::intValue).sum()
              == Topics.PROMPT_PARTITIONS) {
        Thread.sleep(1000); // a rebalance that a late join starts prints again
        return;
      }
      for (var p : processes)
        if (!p.alive()) throw new IllegalStateException("an actor exited" + tail());
      Thread.sleep(100);
    }
    throw new IllegalStateException("the actors did not share the prompt partitions" + tail());
  }

  /** Every rollout on the topic (the broker is this run's alone). */
  private List<MeasuredRun.RolloutTimes> readRollouts(String bootstrap) {
    Map<String, Object> config =
        Map.of(
            ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG,
            bootstrap,
            ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG,
            ByteArrayDeserializer.class,
            ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG,
            ByteArrayDeserializer.class,
            ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG,
            false);
    var times = new ArrayList<MeasuredRun.RolloutTimes>();
    try (var consumer = new KafkaConsumer<byte[], byte[]>(config)) {
      var partitions = new ArrayList<TopicPartition>();
      for (int p = 0; p < Topics.ROLLOUT_PARTITIONS; p++)
        partitions.add(new TopicPartition(Topics.ROLLOUTS, p));
      consumer.assign(partitions);
      consumer.seekToBeginning(partitions);
      var ends = consumer.endOffsets(partitions, Duration.ofSeconds(30));
      long deadline = System.nanoTime() + Duration.ofMinutes(1).toNanos();
      while (partitions.stream().anyMatch(tp -> consumer.position(tp) < ends.get(tp))) {
        if (System.nanoTime() > deadline)
          throw new IllegalStateException("could not read back " + Topics.ROLLOUTS);
        for (var record : consumer.poll(Duration.ofMillis(500))) {
          var r = ROLLOUTS.decode(record.value());
          times.add(
              new MeasuredRun.RolloutTimes(
                  r.getActorId(),
                  r.getPromptId(),
                  r.getPolicyVersion(),
                  r.getStartedAt().toEpochMilli(),
                  r.getProducedAt().toEpochMilli()));
        }
      }
    }
    return times;
  }

  private String tail() {
    var lines = lines();
    var last = lines.subList(Math.max(0, lines.size() - 8), lines.size());
    var text = new StringBuilder("; last lines:");
    for (var l : last) text.append("\n  ").append(l.source()).append(" | ").append(l.text());
    return text.toString();
  }
}
