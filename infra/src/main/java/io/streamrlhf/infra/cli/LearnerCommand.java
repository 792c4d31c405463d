package io.streamrlhf.infra.cli;

import io.streamrlhf.infra.kafka.TopicProvisioner;
import io.streamrlhf.learner.stream.KafkaRollouts;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code rlhf learner}: the streaming PPO learner as its own process. */
@Command(
    name = "learner",
    mixinStandardHelpOptions = true,
    showDefaultValues = true,
    description = {
      "Runs the streaming PPO learner against a Kafka cluster: publishes prompt batches to rlhf.prompts (at most"
          + " max_lag + 1 batches ahead), consumes rlhf.rollouts, drops rollouts more than max_lag policy versions"
          + " old, applies PPO updates and publishes every new policy to rlhf.policy-weights.",
      "Every update is checkpointed in --out with the rollout offsets it consumed; started again with --resume on"
          + " the same --out it continues there, applying every rollout exactly once. Writes stream-stats.json"
          + " (policy lag, rollouts/s) when done.",
      "--out and --resume, as for rlhf ppo: a run starts only in an --out without a checkpoint; --resume"
          + " continues the checkpoint in --out and refuses an --out without one."
    })
final class LearnerCommand implements Callable<Integer> {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @CommandLine.Mixin LearnerOptions learner;

  @Option(
      names = "--bootstrap",
      required = true,
      paramLabel = "HOST:PORT",
      description = "Kafka bootstrap servers.")
  String bootstrap;

  @Option(
      names = "--rollout-wait",
      defaultValue = "PT10M",
      description = "Give up after waiting this long for the rollouts of one update (ISO-8601).")
  Duration rolloutWait;

  @Override
  public Integer call() throws Exception {
    var config = learner.config(true);
    var out = spec.commandLine().getOut();
    BrokerCheck.require(bootstrap);
    learner.start(config, out);
    TopicProvisioner.provision(bootstrap, Duration.ofSeconds(60));
    var settings = new KafkaRollouts.Settings(bootstrap, rolloutWait, Duration.ofSeconds(60));
    try {
      KafkaRollouts.learn(config, settings, learner.sft(), learner.rm(), learner.out(), out);
      return 0;
    } catch (IllegalStateException e) {
      spec.commandLine().getErr().println("rlhf learner: " + e.getMessage());
      return 1;
    }
  }
}
