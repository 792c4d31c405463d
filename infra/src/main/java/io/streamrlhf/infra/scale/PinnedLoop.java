package io.streamrlhf.infra.scale;

import io.streamrlhf.learner.stream.StreamStats;
import io.streamrlhf.schemas.AvroCodec;
import io.streamrlhf.schemas.Rollout;
import io.streamrlhf.schemas.Topics;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * One measured loop: a broker, N actors and a learner, each a child JVM of this one started under
 * {@code taskset -c LIST} (the affinity every thread of the process inherits; PyTorch gets as many
 * intra-op threads as the list has CPUs). Every output line is timestamped as it arrives; after the
 * learner finished, the rollouts are read back from the broker for their own timestamps.
 */
final class PinnedLoop {
  private static final Pattern READY = Pattern.compile("Kafka broker ready at (\\S+) ");
  private static final Pattern ASSIGNED =
      Pattern.compile("^(\\S+): assigned prompt partitions \\[(.*)]");
  private static final Duration START = Duration.ofMinutes(3);
  private static final Duration RUN = Duration.ofMinutes(30);
  private static final AvroCodec<Rollout> ROLLOUTS = AvroCodec.of(Rollout.class);

  /** One output line and when it arrived (epoch millis). */
  record Line(String source, long millis, String text) {}

  private final Path runDir;
  private final Path models;
  private final Path configFile;
  private final int actors;
  private final String learnerCpus;
  private final String actorCpus;
  private final PrintWriter out;
  private final List<Line> lines = new CopyOnWriteArrayList<>();
  private final List<Process> processes = new ArrayList<>();

  PinnedLoop(
      Path runDir,
      Path models,
      Path configFile,
      int actors,
      String learnerCpus,
      String actorCpus,
      PrintWriter out) {
    this.runDir = runDir;
    this.models = models;
    this.configFile = configFile;
    this.actors = actors;
    this.learnerCpus = learnerCpus;
    this.actorCpus = actorCpus;
    this.out = out;
  }

  MeasuredRun run() throws IOException, InterruptedException {
    try {
      start(
          "broker",
          actorCpus,
          "broker",
          "--port",
          "0",
          "--data-dir",
          "" + runDir.resolve("broker"));
      var ready =
          await(l -> l.source().equals("broker") && READY.matcher(l.text()).find(), "broker");
      var m = READY.matcher(ready.text());
      m.find();
      String bootstrap = m.group(1);
      for (int a = 0; a < actors; a++) {
        String id = "actor-" + a;
        start(
            id,
            actorCpus,
            "actor",
            "--bootstrap",
            bootstrap,
            "--sft",
            "" + models.resolve("sft"),
            "--rm",
            "" + models.resolve("rm"),
            "--config",
            "" + configFile,
            "--id",
            id);
      }
      awaitAssignment();
      var learner = runDir.resolve("learner");
      var process =
          start(
              "learner",
              learnerCpus,
              "learner",
              "--bootstrap",
              bootstrap,
              "--sft",
              "" + models.resolve("sft"),
              "--rm",
              "" + models.resolve("rm"),
              "--config",
              "" + configFile,
              "--out",
              "" + learner);
      if (!process.waitFor(RUN.toMillis(), TimeUnit.MILLISECONDS))
        throw new IllegalStateException("the learner did not finish within " + RUN + tail());
      if (process.exitValue() != 0)
        throw new IllegalStateException("the learner exited with " + process.exitValue() + tail());
      var run =
          new MeasuredRun(
              StreamStats.Summary.read(learner), List.copyOf(lines), readRollouts(bootstrap));
      run.save(runDir);
      return run;
    } finally {
      for (int i = processes.size() - 1; i >= 0; i--) stop(processes.get(i));
    }
  }

  private Process start(String source, String cpus, String... args) throws IOException {
    var command = new ArrayList<String>(List.of("taskset", "-c", cpus));
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.addAll(List.of("-cp", System.getProperty("java.class.path")));
    command.addAll(List.of("-Xmx1g", "-Xss4m", "-XX:+UseParallelGC", "-Dai.djl.offline=true"));
    command.add("-Dai.djl.pytorch.num_threads=" + ScaleValidation.cpuCount(cpus));
    command.add("-Dai.djl.pytorch.num_interop_threads=1");
    var home = System.getProperty("rlhf.home");
    if (home != null) command.add("-Drlhf.home=" + home);
    command.add("io.streamrlhf.infra.cli.Rlhf");
    command.addAll(List.of(args));
    var builder = new ProcessBuilder(command).redirectErrorStream(true);
    builder.environment().putIfAbsent("OMP_WAIT_POLICY", "PASSIVE");
    var process = builder.start();
    processes.add(process);
    var reader =
        new Thread(
            () -> {
              try (var in =
                  new BufferedReader(
                      new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                for (String line; (line = in.readLine()) != null; )
                  lines.add(new Line(source, System.currentTimeMillis(), line));
              } catch (IOException closed) {
                // the process is gone
              }
            },
            "scale-" + source);
    reader.setDaemon(true);
    reader.start();
    return process;
  }

  private Line await(java.util.function.Predicate<Line> match, String what)
      throws InterruptedException {
    long deadline = System.nanoTime() + START.toNanos();
    while (System.nanoTime() < deadline) {
      for (var l : lines) if (match.test(l)) return l;
      for (var p : processes)
        if (!p.isAlive()) throw new IllegalStateException(what + ": a process exited" + tail());
      Thread.sleep(100);
    }
    throw new IllegalStateException("no " + what + " within " + START + tail());
  }

  /** Until the actors' group shares every prompt partition (the last assignment of each). */
  private void awaitAssignment() throws InterruptedException {
    long deadline = System.nanoTime() + START.toNanos();
    int want = Math.min(actors, Topics.PROMPT_PARTITIONS);
    while (System.nanoTime() < deadline) {
      var latest = new HashMap<String, Integer>();
      for (var l : lines) {
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
        if (!p.isAlive()) throw new IllegalStateException("an actor exited" + tail());
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
    var last = lines.subList(Math.max(0, lines.size() - 8), lines.size());
    var text = new StringBuilder("; last lines:");
    for (var l : last) text.append("\n  ").append(l.source()).append(" | ").append(l.text());
    return text.toString();
  }

  private static void stop(Process p) {
    if (!p.isAlive()) return;
    p.destroy(); // SIGTERM: each process shuts down cleanly
    try {
      if (!p.waitFor(30, TimeUnit.SECONDS)) p.destroyForcibly();
    } catch (InterruptedException e) {
      p.destroyForcibly();
      Thread.currentThread().interrupt();
    }
  }
}
