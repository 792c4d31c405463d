package io.streamrlhf.infra.cli;

import io.streamrlhf.infra.kafka.TopicProvisioner;
import io.streamrlhf.learner.stream.StreamingLearner;
import java.nio.file.Path;
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
      "Every update is checkpointed in --out with the rollout offsets it consumed; started again on the same --out"
          + " it resumes there, applying every rollout exactly once. Writes stream-stats.json (policy lag,"
          + " rollouts/s) when done."
    })
final class LearnerCommand implements Callable<Integer> {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @CommandLine.Mixin LoopOptions loop;

  @Option(names = "--bootstrap", required = true, paramLabel = "HOST:PORT", description = "Kafka bootstrap servers.")
  String bootstrap;

  @Option(names = "--out", defaultValue = "runs/ppo", paramLabel = "DIR",
      description = "Checkpoint directory (resumed when it already holds this learner's checkpoint).")
  Path out;

  @Option(names = "--sync", description = "On-policy: max_lag 0, actors wait for every new version.")
  boolean sync;

  @Option(names = "--rollout-wait", defaultValue = "PT10M",
      description = "Give up after waiting this long for the rollouts of one update (ISO-8601).")
  Duration rolloutWait;

  @Override
  public Integer call() throws Exception {
    var config = loop.ppoConfig(sync);
    loop.requireModels(config);
    TopicProvisioner.provision(bootstrap, Duration.ofSeconds(60));
    var settings = new StreamingLearner.Settings(bootstrap, rolloutWait, Duration.ofSeconds(60));
    try {
      StreamingLearner.run(config, settings, loop.sft, loop.rm, out, spec.commandLine().getOut());
      return 0;
    } catch (IllegalStateException e) {
      spec.commandLine().getErr().println("rlhf learner: " + e.getMessage());
      return 1;
    }
  }
}
