package io.streamrlhf.infra.cli;

import static io.streamrlhf.infra.cli.CliRun.run;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The security flags' mistakes: one line naming the flag and the file, exit code 2. */
class SecurityCliTest {

  @Test
  void aBadKafkaConfigFileIsOneLineNamingTheFile(@TempDir Path dir) throws Exception {
    var missing = dir.resolve("missing.properties");
    var owned = Files.writeString(dir.resolve("owned.properties"), "key.serializer=x\n");
    var misspelt = Files.writeString(dir.resolve("misspelt.properties"), "sasl.mechansim=PLAIN\n");

    var none = run("labelers", "--bootstrap", "127.0.0.1:1", "--kafka-config", missing.toString());
    var ours = run("gateway", "--bootstrap", "127.0.0.1:1", "--kafka-config", owned.toString());
    var typo =
        run(
            "actor",
            "--bootstrap",
            "127.0.0.1:1",
            "--sft",
            dir.toString(),
            "--kafka-config",
            misspelt.toString());

    assertThat(none.exitCode()).isEqualTo(2);
    assertThat(none.err().strip())
        .isEqualTo("rlhf labelers: --kafka-config " + missing + ": no such file");
    assertThat(ours.exitCode()).isEqualTo(2);
    assertThat(ours.err().strip())
        .startsWith("rlhf gateway: --kafka-config " + owned + ": key.serializer is set by rlhf")
        .doesNotContain("\n");
    assertThat(typo.exitCode()).isEqualTo(2);
    assertThat(typo.err().strip())
        .startsWith(
            "rlhf actor: --kafka-config "
                + misspelt
                + ": 'sasl.mechansim' is not a Kafka client setting")
        .doesNotContain("\n");
  }

  @Test
  void kafkaConfigNeedsAClusterOfItsOwnInPpo(@TempDir Path dir) throws Exception {
    var file = Files.writeString(dir.resolve("c.properties"), "security.protocol=SASL_SSL\n");

    var ppo =
        run(
            "ppo",
            "--sft",
            dir.toString(),
            "--out",
            dir.resolve("ppo").toString(),
            "--kafka-config",
            file.toString());

    assertThat(ppo.exitCode()).isEqualTo(2);
    assertThat(ppo.err().strip())
        .isEqualTo(
            "rlhf ppo: --kafka-config applies to a cluster named by --bootstrap (the embedded"
                + " broker is PLAINTEXT)");
  }

  @Test
  void badKeyFilesAreOneLineNamingTheFlagAndFile(@TempDir Path dir) throws Exception {
    var missing = dir.resolve("learner.pub");
    var notPem = Files.writeString(dir.resolve("key.txt"), "secret\n");

    var actor =
        run(
            "actor",
            "--bootstrap",
            "127.0.0.1:1",
            "--sft",
            dir.toString(),
            "--weights-key",
            missing.toString());
    var learner =
        run(
            "learner",
            "--bootstrap",
            "127.0.0.1:1",
            "--sft",
            dir.toString(),
            "--out",
            dir.resolve("out").toString(),
            "--signing-key",
            notPem.toString());

    assertThat(actor.exitCode()).isEqualTo(2);
    assertThat(actor.err().strip())
        .isEqualTo("rlhf actor: --weights-key " + missing + ": no such file");
    assertThat(learner.exitCode()).isEqualTo(2);
    assertThat(learner.err().strip())
        .isEqualTo(
            "rlhf learner: --signing-key "
                + notPem
                + ": no -----BEGIN PRIVATE KEY----- block (a PEM file is expected)");
  }

  @Test
  void aUsersFileWithoutAnAdminOrWithAnUnknownRoleIsRefusedBeforeTheBrokerStarts(@TempDir Path dir)
      throws Exception {
    var noAdmin = Files.writeString(dir.resolve("a.properties"), "learner = learner:pw\n");
    var badRole =
        Files.writeString(dir.resolve("b.properties"), "root = admin:pw\nbob = boss:pw\n");

    var first = run("broker", "--port", "0", "--users", noAdmin.toString());
    var second = run("broker", "--port", "0", "--users", badRole.toString());
    var orphan = run("broker", "--port", "0", "--client-configs", dir.toString());

    assertThat(first.exitCode()).isEqualTo(2);
    assertThat(first.err().strip())
        .isEqualTo(
            "rlhf broker: --users "
                + noAdmin
                + ": no user has the role admin: the broker needs one to log in to itself");
    assertThat(second.exitCode()).isEqualTo(2);
    assertThat(second.err().strip())
        .isEqualTo(
            "rlhf broker: --users "
                + badRole
                + ": user 'bob': expected role:password with a role of admin, learner, actor,"
                + " reward-trainer, labeler, gateway");
    assertThat(orphan.exitCode()).isEqualTo(2);
    assertThat(orphan.err().strip()).isEqualTo("rlhf broker: --client-configs needs --users");
  }

  @Test
  void theHelpNamesTheSecurityFlags() {
    assertThat(run("actor", "--help").out())
        .contains("--kafka-config=FILE", "--weights-key=PUBFILE", "--reward-weights-key=PUBFILE");
    assertThat(run("learner", "--help").out())
        .contains("--kafka-config=FILE", "--signing-key=FILE");
    assertThat(run("reward-trainer", "--help").out())
        .contains("--kafka-config=FILE", "--signing-key=FILE");
    for (var command : new String[] {"ppo", "labelers", "gateway"}) {
      assertThat(run(command, "--help").out()).as(command).contains("--kafka-config=FILE");
    }
    assertThat(run("broker", "--help").out()).contains("--users=FILE", "--client-configs=DIR");
  }
}
