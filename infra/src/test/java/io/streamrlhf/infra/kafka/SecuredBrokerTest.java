package io.streamrlhf.infra.kafka;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.streamrlhf.actors.VerticleFailure;
import io.streamrlhf.actors.WeightSubscriber;
import io.streamrlhf.schemas.Topics;
import io.streamrlhf.schemas.WeightModel;
import io.streamrlhf.schemas.signing.WeightVerifier;
import io.streamrlhf.schemas.transport.KafkaAccess;
import io.streamrlhf.schemas.transport.KafkaClientConfigs;
import io.vertx.core.DeploymentOptions;
import io.vertx.core.ThreadingModel;
import io.vertx.core.Vertx;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.SaslAuthenticationException;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The embedded broker with users: who may log in, and what each role may do once in. */
class SecuredBrokerTest {
  private static final Duration REFUSAL_WAIT = Duration.ofSeconds(5);
  private static final BrokerUsers USERS =
      new BrokerUsers(
          Map.of(
              "root", new BrokerUsers.User("root", LoopRole.ADMIN, "root-secret"),
              "learner", new BrokerUsers.User("learner", LoopRole.LEARNER, "learner-secret"),
              "actor-1", new BrokerUsers.User("actor-1", LoopRole.ACTOR, "actor-secret")));

  private static EmbeddedKafka kafka;

  @BeforeAll
  static void start() {
    kafka = EmbeddedKafka.start(EmbeddedKafka.Options.defaults().withUsers(USERS));
    TopicProvisioner.provision(kafka.access(), Duration.ofSeconds(30));
  }

  @AfterAll
  static void stop() {
    if (kafka != null) kafka.close();
  }

  @Test
  void aClientWithoutCredentialsIsRefusedWithinABoundedWait() {
    var anonymous = KafkaAccess.plaintext(kafka.bootstrapServers());

    // bounded by the wait it was given (the message names it), not Kafka's default minute
    assertThatThrownBy(() -> TopicProvisioner.provision(anonymous, REFUSAL_WAIT))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageStartingWith("could not provision the loop's topics within 5 s")
        .hasMessageEndingWith("if the cluster requires a login, pass --kafka-config");
  }

  @Test
  void aWrongPasswordIsAnAuthenticationFailureNotATimeout() {
    var wrong =
        new KafkaAccess(
            kafka.bootstrapServers(),
            EmbeddedKafka.clientSettings(
                new BrokerUsers.User("learner", LoopRole.LEARNER, "guessed")));

    assertThatThrownBy(() -> TopicProvisioner.provision(wrong, Duration.ofSeconds(30)))
        .hasRootCauseInstanceOf(SaslAuthenticationException.class)
        .hasMessageContaining("Authentication failed");
  }

  @Test
  void aClientWithCredentialsProducesAndConsumesWhatItsRoleAllows() throws Exception {
    var learner = kafka.access("learner");
    var actor = kafka.access("actor-1");
    assertThat(TopicProvisioner.provision(learner, Duration.ofSeconds(30))).isEmpty();

    try (var producer =
            new KafkaProducer<byte[], byte[]>(KafkaClientConfigs.producer(learner, "l"));
        var consumer =
            new KafkaConsumer<byte[], byte[]>(
                KafkaClientConfigs.groupConsumer(actor, "rlhf-actors-test", "a"))) {
      producer
          .send(new ProducerRecord<>(Topics.PROMPTS, 0, null, bytes("prompt 1")))
          .get(30, TimeUnit.SECONDS);
      consumer.subscribe(List.of(Topics.PROMPTS));
      var received = new java.util.ArrayList<String>();
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (received.isEmpty() && System.nanoTime() < deadline) {
        for (var r : consumer.poll(Duration.ofMillis(200)))
          received.add(new String(r.value(), StandardCharsets.UTF_8));
      }
      assertThat(received).containsExactly("prompt 1");
      consumer.commitSync(Duration.ofSeconds(30));
    }
  }

  @Test
  void anActorMayNotWritePolicyWeights() {
    try (var producer =
        new KafkaProducer<byte[], byte[]>(
            KafkaClientConfigs.producer(kafka.access("actor-1"), "forger"))) {
      var sent = producer.send(new ProducerRecord<>(Topics.POLICY_WEIGHTS, bytes("weights")));

      assertThatThrownBy(() -> sent.get(30, TimeUnit.SECONDS))
          .isInstanceOf(ExecutionException.class)
          .hasCauseInstanceOf(TopicAuthorizationException.class);
    }
  }

  @Test
  void aWeightSubscriberRefusedItsTopicEndsSayingSoRatherThanRetrying() throws Exception {
    // the learner's user may not read the reward model's weights
    var lines = new java.util.concurrent.CopyOnWriteArrayList<String>();
    var subscriber =
        new WeightSubscriber(
            "actor-t",
            kafka.access("learner"),
            WeightModel.REWARD,
            WeightVerifier.acceptingUnsigned(),
            null,
            lines::add);
    var vertx = Vertx.vertx();
    try {
      vertx
          .deployVerticle(
              subscriber, new DeploymentOptions().setThreadingModel(ThreadingModel.WORKER))
          .await();

      assertThatThrownBy(() -> subscriber.ended().get(60, TimeUnit.SECONDS))
          .isInstanceOf(ExecutionException.class)
          .cause()
          .isInstanceOf(VerticleFailure.class)
          .hasMessageStartingWith("actor-t's reward model weight subscriber")
          .hasRootCauseInstanceOf(TopicAuthorizationException.class);
      assertThat(lines)
          .noneMatch(l -> l.contains("retrying") || l.contains("following it from where it got"));
    } finally {
      vertx.close().await();
    }
  }

  private static byte[] bytes(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }
}
