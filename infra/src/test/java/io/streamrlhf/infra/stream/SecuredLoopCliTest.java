package io.streamrlhf.infra.stream;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamrlhf.infra.kafka.BrokerUsers;
import io.streamrlhf.infra.kafka.ClientConfigFiles;
import io.streamrlhf.infra.kafka.EmbeddedKafka;
import io.streamrlhf.infra.kafka.LoopRole;
import io.streamrlhf.infra.kafka.TopicProvisioner;
import io.streamrlhf.learner.config.ConfigLoader;
import io.streamrlhf.learner.train.TrainState;
import io.streamrlhf.model.checkpoint.Checkpoint;
import io.streamrlhf.schemas.signing.SigningKeys;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code rlhf learner} and {@code rlhf actor} as separate processes against a broker that requires
 * logins: each logs in with the {@code --kafka-config} file the broker writes for its user, the
 * learner signs with the key it creates in its --out, and the actor, given that public key with
 * {@code --weights-key}, applies the signed versions. So does {@code rlhf reward-trainer}, in its
 * own role.
 */
class SecuredLoopCliTest {
  private static final Duration WAIT = Duration.ofSeconds(120);

  @Test
  void learnerAndActorProcessesLogInAndTheActorAppliesTheLearnersSignedVersions(@TempDir Path dir)
      throws Exception {
    TinyRun.checkpoints(dir);
    var config = TinyRun.config(2, 0);
    ConfigLoader.save(config, dir.resolve("settings"));
    var users =
        new BrokerUsers(
            Map.of(
                "root", new BrokerUsers.User("root", LoopRole.ADMIN, "root-secret"),
                "learner", new BrokerUsers.User("learner", LoopRole.LEARNER, "learner-secret"),
                "actor-1", new BrokerUsers.User("actor-1", LoopRole.ACTOR, "actor-secret"),
                "lab", new BrokerUsers.User("lab", LoopRole.LABELER, "lab-secret")));
    var out = dir.resolve("ppo");
    try (var kafka = EmbeddedKafka.start(EmbeddedKafka.Options.defaults().withUsers(users))) {
      TopicProvisioner.provision(kafka.access(), WAIT);
      var bootstrap = kafka.bootstrapServers();
      var configs = dir.resolve("clients");
      var common = TinyRun.modelArgs(dir);
      // the learner's command on this cluster, logged in as its user, writing to --out
      var learnerLogin = ClientConfigFiles.write(configs, users.user("learner")).toString();
      java.util.function.Function<Path, List<String>> learnerCommand =
          to ->
              concat(
                  List.of(
                      "learner",
                      "--bootstrap",
                      bootstrap,
                      "--kafka-config",
                      learnerLogin,
                      "--out",
                      to.toString(),
                      "--rollout-wait",
                      "PT2M"),
                  common);
      var learnerLog = new Watch();
      var learner = learnerLog.rlhf(learnerCommand.apply(out));
      var actorLog = new Watch();
      Process actor = null;
      try {
        learnerLog.await("learner: signing policy versions with key", WAIT);
        actor =
            actorLog.rlhf(
                concat(
                    List.of(
                        "actor",
                        "--id",
                        "actor-s",
                        "--bootstrap",
                        bootstrap,
                        "--kafka-config",
                        ClientConfigFiles.write(configs, users.user("actor-1")).toString(),
                        "--weights-key",
                        out.resolve(SigningKeys.PUBLIC_FILE).toString()),
                    common));
        assertThat(learnerLog.exited(learner, WAIT))
            .as("learner finished; its log:\n%s", String.join("\n", learnerLog.lines()))
            .isTrue();
        assertThat(learner.exitValue()).as(String.join("\n", learnerLog.lines())).isZero();
        actorLog.await("actor-s: policy v2 applied", WAIT);
      } finally {
        learner.destroyForcibly();
        if (actor != null) actor.destroy();
      }
      var key = SigningKeys.inDirectory(out).keyId();
      assertThat(actorLog.lines())
          .contains("actor-s: applies only policy versions signed by key " + key)
          .noneMatch(l -> l.contains("rejected"));
      assertThat(Checkpoint.trainState(out, TrainState.class).step()).isEqualTo(2);

      // a second run on this cluster: the learner may read its weight topic, and is told it holds
      // the first run's versions (not that it may not read them)
      var secondLog = new Watch();
      var second = secondLog.rlhf(learnerCommand.apply(dir.resolve("second")));
      assertThat(secondLog.exited(second, WAIT)).isTrue();
      assertThat(second.exitValue()).as(String.join("\n", secondLog.lines())).isEqualTo(2);
      assertThat(secondLog.lines())
          .anyMatch(l -> l.contains("already holds an earlier run's weights"));
      // what its start wrote is taken back: another stage would take it for another program's
      for (var file : List.of("config.json", "inputs.json"))
        assertThat(dir.resolve("second").resolve(file)).as(file).doesNotExist();

      // an actor, labelers and a gateway logged in with another role's file: one line each, exit
      // 2, and the readers end on the refusal rather than poll into it again and again
      var labelerLogin = ClientConfigFiles.write(configs, users.user("lab")).toString();
      var actorLogin = ClientConfigFiles.write(configs, users.user("actor-1")).toString();
      var misplaced =
          List.of(
              concat(
                  List.of("actor", "--bootstrap", bootstrap, "--kafka-config", labelerLogin),
                  common),
              List.of("labelers", "--bootstrap", bootstrap, "--kafka-config", actorLogin),
              List.of(
                  "gateway",
                  "--bootstrap",
                  bootstrap,
                  "--kafka-config",
                  actorLogin,
                  "--port",
                  "0"));
      for (var command : misplaced) {
        var log = new Watch();
        var process = log.rlhf(command);
        try {
          assertThat(log.exited(process, WAIT)).as(String.join("\n", log.lines())).isTrue();
        } finally {
          process.destroyForcibly(); // one that serves on does not outlive the test
        }
        var lines = String.join("\n", log.lines());
        assertThat(process.exitValue()).as(lines).isEqualTo(2);
        assertThat(log.lines())
            .as(lines)
            .anyMatch(
                l ->
                    l.startsWith("rlhf " + command.get(0) + ": ")
                        && l.contains(
                            "the Kafka cluster does not allow this user what this command needs")
                        && l.endsWith("an admin creates the loop's topics, as rlhf broker does)"))
            .noneMatch(l -> l.contains("failed, retrying") || l.startsWith("\tat "));
      }
    }
  }

  @Test
  void aRewardTrainerLogsInPublishesInItsTransactionsAndResumesUnderItsRole(@TempDir Path dir)
      throws Exception {
    TinyRun.checkpoints(dir);
    var users =
        new BrokerUsers(
            Map.of(
                "root", new BrokerUsers.User("root", LoopRole.ADMIN, "root-secret"),
                "rm", new BrokerUsers.User("rm", LoopRole.REWARD_TRAINER, "rm-secret"),
                "actor-1", new BrokerUsers.User("actor-1", LoopRole.ACTOR, "actor-secret")));
    var out = dir.resolve("reward-trainer");
    try (var kafka = EmbeddedKafka.start(EmbeddedKafka.Options.defaults().withUsers(users))) {
      TopicProvisioner.provision(kafka.access(), WAIT);
      var command =
          List.of(
              "reward-trainer",
              "--bootstrap",
              kafka.bootstrapServers(),
              "--kafka-config",
              ClientConfigFiles.write(dir.resolve("clients"), users.user("rm")).toString(),
              "--sft",
              dir.resolve("sft").toString(),
              "--out",
              out.toString(),
              "--until-version",
              "0");
      // an actor's credentials: one line saying so, the user's mistake (exit 2)
      var refusedLog = new Watch();
      var refused =
          refusedLog.rlhf(
              concat(
                  command.subList(0, 3),
                  List.of(
                      "--kafka-config",
                      ClientConfigFiles.write(dir.resolve("clients"), users.user("actor-1"))
                          .toString(),
                      "--sft",
                      dir.resolve("sft").toString(),
                      "--out",
                      dir.resolve("actor-as-trainer").toString())));
      assertThat(refusedLog.exited(refused, WAIT)).isTrue();
      assertThat(refused.exitValue()).as(String.join("\n", refusedLog.lines())).isEqualTo(2);
      assertThat(refusedLog.lines())
          .anyMatch(
              l ->
                  l.startsWith(
                          "rlhf reward-trainer: the Kafka cluster does not allow this user what")
                      && l.endsWith("an admin creates the loop's topics, as rlhf broker does)"))
          .noneMatch(l -> l.contains("internal error") || l.startsWith("\tat "));
      // a new run publishes v0 (its transactional id); a resume reads the topic's newest version
      // to check it is its run's, then publishes its checkpointed v0 again
      for (var resume : List.of(List.<String>of(), List.of("--resume"))) {
        var log = new Watch();
        var trainer = log.rlhf(concat(command, resume));
        assertThat(log.exited(trainer, WAIT)).isTrue();
        assertThat(trainer.exitValue()).as(String.join("\n", log.lines())).isZero();
        assertThat(log.lines()).anyMatch(l -> l.startsWith("reward-trainer: published RM v0 "));
      }
    }
  }

  private static List<String> concat(List<String> a, List<String> b) {
    var all = new java.util.ArrayList<>(a);
    all.addAll(b);
    return all;
  }
}
