package io.streamrlhf.infra.cli;

import io.streamrlhf.infra.stream.LocalLoop;
import io.streamrlhf.learner.stream.KafkaRollouts;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code rlhf learner}: the streaming PPO learner as its own process. */
@Command(
    name = "learner",
    mixinStandardHelpOptions = true,
    showDefaultValues = true,
    description = {
      "Runs the streaming PPO learner against a Kafka cluster: publishes prompt batches to rlhf.prompts (at most"
          + " max_lag + 1 batches ahead), consumes rlhf.rollouts, applies PPO updates (update u on exactly prompt"
          + " batch u) and publishes every new policy to rlhf.policy-weights. A rollout more than max_lag policy"
          + " versions old is not used; its prompt is asked again.",
      "Every update is checkpointed in --out (the previous checkpoint kept as a fallback) with the rollout"
          + " offsets it consumed; started again with --resume on the same --out it continues the interrupted"
          + " batch, applying every rollout exactly once. A resume must keep seed, prompts_per_batch,"
          + " responses_per_prompt, reward and sampling_temperature. Writes stream-stats.json (policy lag, rollouts/s; the whole run's,"
          + " across restarts) when done, and every eval_every_updates updates appends the gold-vs-proxy curve to"
          + " gold-proxy.csv (update,oracle_score,rm_score,kl,seconds), as rlhf ppo does (not with --reward"
          + " live, whose reward model it does not hold).",
      "One learner per cluster: --out is locked while it runs, and a learner started on the cluster (e.g. the run"
          + " resumed from a copy elsewhere, or a second new run started at the same moment) fences the older one,"
          + " which stops before its next publish (exit code 2); a run is not resumed on a cluster another run"
          + " uses.",
      "--out and --resume, as for rlhf ppo: a run starts only in an --out without a checkpoint or another program's config.json; --resume"
          + " continues the checkpoint in --out and refuses an --out without one."
    })
final class LearnerCommand implements Callable<Integer> {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  @CommandLine.Mixin LearnerOptions learner;

  @Mixin KafkaClusterOptions cluster;

  @Mixin SigningKeyOption signingKey;

  @Mixin CpuOptions cpus;

  @Mixin WeightStoreOption weightStore;

  @Option(
      names = "--rollout-wait",
      paramLabel = "DURATION",
      defaultValue = "PT10M",
      description = "Give up after waiting this long for the rollouts of one update (ISO-8601).")
  Duration rolloutWait;

  @Override
  public Integer call() throws Exception {
    if (rolloutWait.isNegative() || rolloutWait.isZero())
      throw new UserError("--rollout-wait must be longer than 0, got " + rolloutWait);
    cpus.pin(); // before any model loads the engine
    var out = spec.commandLine().getOut();
    var kafka = cluster.access(); // the cheap checks first
    var signer = signingKey.signer(out);
    var config = learner.config(true, false);
    var store = weightStore.store();
    if (learner.resume() && LocalLoop.finished(config, learner.out())) {
      // nothing to train, publish or count: the run's figures stay as its last process wrote them
      LocalLoop.sayFinished(out, "learner", learner.out(), config);
      return 0;
    }
    BrokerCheck.require(kafka);
    try (var lock = learner.start(config, out);
        var notice =
            StopNotice.register("learner", learner.out(), spec.commandLine().getErr(), "update")) {
      LocalLoop.provisionTopics(kafka, config, 0, "learner", out);
      var settings =
          new KafkaRollouts.Settings(kafka, rolloutWait, Duration.ofSeconds(60), signer)
              .withWeightStore(store);
      KafkaRollouts.learn(config, settings, learner.sft(), learner.rm(), learner.out(), out);
      return 0;
    } catch (IllegalStateException e) {
      spec.commandLine().getErr().println("rlhf learner: " + e.getMessage());
      return 1;
    }
  }
}
