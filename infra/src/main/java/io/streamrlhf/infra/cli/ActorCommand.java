package io.streamrlhf.infra.cli;

import io.streamrlhf.actors.ActorNode;
import io.streamrlhf.actors.ActorSettings;
import io.streamrlhf.infra.kafka.TopicProvisioner;
import io.streamrlhf.infra.stream.LocalLoop;
import io.streamrlhf.learner.config.PpoConfig;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code rlhf actor}: one rollout actor process (a weight subscriber and a rollout actor verticle).
 */
@Command(
    name = "actor",
    mixinStandardHelpOptions = true,
    showDefaultValues = true,
    description = {
      "Runs one rollout actor against a Kafka cluster: consumes rlhf.prompts in the actors' consumer group,"
          + " samples responses_per_prompt responses per prompt with the newest policy from rlhf.policy-weights,"
          + " scores them under the frozen SFT model and the reward model (following the versions on"
          + " rlhf.reward-weights unless the reward is the oracle), and produces rlhf.rollouts; with"
          + " --label-requests, also label requests for rlhf labelers or people to rank.",
      "Start as many as you like; Kafka shares the prompt partitions among them, and moves a dead"
          + " actor's partitions to the others within seconds. Serves until Ctrl-C, or exits 1 when it"
          + " waited too long for the policy version its prompts ask for (or, with --reward live, for"
          + " the reward trainer's first version), or when any part of it failed (one line naming it and"
          + " the cause; its Kafka clients are closed first), so that a supervisor can restart it;"
          + " exits 2, a usage mistake that a restart would repeat, when the learner's policy says it was"
          + " trained with another --reward, --sft, --rm, responses_per_prompt or sampling_temperature"
          + " than the actor's, or when the Kafka cluster refuses its login or a topic or group its"
          + " role needs."
    })
final class ActorCommand implements Callable<Integer> {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  /** The settings an actor uses: how it samples and scores, and the prompt topic it may create. */
  static final java.util.Set<String> SETTINGS_READ =
      java.util.Set.of(
          "reward",
          "responses_per_prompt",
          "sampling_temperature",
          "prompts_per_batch",
          "prompt_partitions");

  @CommandLine.Mixin LoopOptions loop;

  @CommandLine.Mixin ConfigOptions settings;

  @Mixin KafkaClusterOptions cluster;

  @Mixin WeightKeyOptions weightKeys;

  @Mixin WeightStoreOption weightStore;

  @Mixin CpuOptions cpus;

  @Mixin DeviceOption device;

  @Option(
      names = "--id",
      paramLabel = "NAME",
      description = "Actor id stamped on its rollouts (default: actor-<host>-<pid>).")
  String id;

  @Option(
      names = "--version-wait",
      paramLabel = "DURATION",
      defaultValue = "PT10M",
      description =
          "Give up after waiting this long for the policy version queued prompts ask for, or for the"
              + " first reward-model version with --reward live (ISO-8601).")
  Duration versionWait;

  @Option(
      names = "--label-requests",
      paramLabel = "SHARE",
      defaultValue = "" + ActorSettings.DEFAULT_LABEL_REQUEST_SHARE,
      description =
          "Share of prompts (0 to 1) also sent to rlhf.label-requests, with --label-responses answers"
              + " each, for people or simulated labelers (rlhf labelers) to rank; 0 sends none.")
  double labelRequestShare;

  @Option(
      names = "--label-responses",
      paramLabel = "K",
      defaultValue = "" + ActorSettings.DEFAULT_LABEL_RESPONSES,
      description =
          "Answers per label request, 2 to 9: the prompt's first K samples, drawn beyond"
              + " responses_per_prompt when K is larger.")
  int labelResponses;

  @Option(
      names = "--swap",
      paramLabel = "WHEN",
      defaultValue = "between-batches",
      description =
          "When a new policy version takes effect: between-batches (default: a batch is sampled by"
              + " one version), or in-flight (PipelineRL: between two decode steps of a batch, the KV"
              + " cache kept; each token is tagged with the version that sampled it).")
  String swap;

  @Override
  public Integer call() throws Exception {
    if (id != null && id.isBlank())
      throw new UserError("--id must name the actor, got \"" + id + "\"");
    if (labelResponses < 2 || labelResponses > 9)
      throw new UserError(
          "--label-responses must be from 2 (a ranking needs two answers) to 9 (as rlhf reward's"
              + " K; the labeling page ranks by the keys 1 to 9), got "
              + labelResponses);
    if (versionWait.isNegative() || versionWait.isZero())
      throw new UserError("--version-wait must be longer than 0, got " + versionWait);
    cpus.pin(); // before any model loads the engine
    device.use();
    var kafka = cluster.access(); // the cheap checks first
    var keys = weightKeys.keys();
    var swapMode = WeightSwaps.parse(swap);
    var store = weightStore.store();
    var config = settings.load(PpoConfig.defaults(), null, loop.flagOverrides());
    loop.requireModels(config, false);
    var unused = settings.setKeysOutside(SETTINGS_READ);
    if (!unused.isEmpty()) {
      // not refused: one --set list given to both learner and actor is the usual way to run them
      spec.commandLine()
          .getOut()
          .printf(
              "actor: --set %s: the learner's, not used here (an actor reads only %s)%n",
              String.join(", ", unused), String.join(", ", new java.util.TreeSet<>(SETTINGS_READ)));
    }
    if (!(labelRequestShare >= 0 && labelRequestShare <= 1))
      throw new UserError("--label-requests must be a share from 0 to 1, got " + labelRequestShare);
    var out = spec.commandLine().getOut();
    var actorId =
        id != null
            ? id
            : "actor-"
                + java.net.InetAddress.getLocalHost().getHostName()
                + "-"
                + ProcessHandle.current().pid();
    BrokerCheck.require(kafka);
    // an actor first on a fresh cluster makes the prompt topic as its learner would
    TopicProvisioner.provision(kafka, Duration.ofSeconds(60), config.promptPartitions());
    loop.requireRewardStatistics(config);
    var vertx = ActorNode.newVertx();
    var models = LocalLoop.actorModels(config, loop.sft, loop.rm);
    var node =
        ActorNode.deploy(
            vertx,
            LocalLoop.settings(actorId, kafka, config)
                .withWeightKeys(keys)
                .withVersionWait(versionWait)
                .withLabelRequests(labelRequestShare, labelResponses)
                .withSwap(swapMode)
                .withWeightStore(store),
            models,
            line -> println(out, line));
    return Serving.until(
        "actor",
        node.ended(),
        () -> {
          println(out, actorId + ": stopping");
          node.stop();
          vertx.close();
        },
        spec.commandLine().getErr());
  }

  private static void println(PrintWriter out, String line) {
    synchronized (out) {
      out.println(line);
      out.flush();
    }
  }
}
