package io.streamrlhf.infra.gateway;

import static org.assertj.core.api.Assertions.assertThat;

import io.streamrlhf.actors.VerticleFailure;
import io.streamrlhf.actors.gateway.GatewayNode;
import io.streamrlhf.actors.gateway.GatewaySettings;
import io.streamrlhf.infra.kafka.BrokerUsers;
import io.streamrlhf.infra.kafka.EmbeddedKafka;
import io.streamrlhf.infra.kafka.LoopRole;
import io.streamrlhf.infra.kafka.TopicProvisioner;
import io.streamrlhf.schemas.Topics;
import io.streamrlhf.schemas.transport.KafkaClientConfigs;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.common.acl.AccessControlEntryFilter;
import org.apache.kafka.common.acl.AclBindingFilter;
import org.apache.kafka.common.acl.AclOperation;
import org.apache.kafka.common.acl.AclPermissionType;
import org.apache.kafka.common.errors.TopicAuthorizationException;
import org.apache.kafka.common.resource.PatternType;
import org.apache.kafka.common.resource.ResourcePatternFilter;
import org.apache.kafka.common.resource.ResourceType;
import org.junit.jupiter.api.Test;

/** The gateway logged in to a cluster with ACLs: what it does when the cluster refuses a write. */
class SecuredGatewayTest {
  private static final String TOKEN = "test-token-0123456789";
  private static final Duration WAIT = Duration.ofSeconds(60);

  @Test
  void aRankingTheClusterMayNotStoreIs503SaysWhyAndStopsTheGateway() throws Exception {
    var users =
        new BrokerUsers(
            Map.of(
                "root", new BrokerUsers.User("root", LoopRole.ADMIN, "root-secret"),
                "gw", new BrokerUsers.User("gw", LoopRole.GATEWAY, "gw-secret")));
    var vertx = Vertx.vertx();
    try (var kafka = EmbeddedKafka.start(EmbeddedKafka.Options.defaults().withUsers(users))) {
      TopicProvisioner.provision(kafka.access(), WAIT);
      // a gateway user whose right to write comparisons an operator took away (or never gave)
      try (var admin = Admin.create(KafkaClientConfigs.admin(kafka.access(), "test-admin"))) {
        var deleted =
            admin
                .deleteAcls(
                    List.of(
                        new AclBindingFilter(
                            new ResourcePatternFilter(
                                ResourceType.TOPIC, Topics.COMPARISONS, PatternType.ANY),
                            new AccessControlEntryFilter(
                                "User:gw", null, AclOperation.WRITE, AclPermissionType.ANY))))
                .all()
                .get(30, TimeUnit.SECONDS);
        assertThat(deleted).hasSize(1);
      }
      var node =
          GatewayNode.deploy(vertx, GatewaySettings.of(kafka.access("gw"), 0, TOKEN), line -> {});
      try {
        var client = new GatewayClient(node.url(), kafka.access());
        client.awaitReady(TOKEN);
        client.publish(GatewayClient.request("r-1", "cba", "abc"));
        client.awaitKnown("r-1", TOKEN);

        var reply =
            client.post(
                "/api/comparisons",
                TOKEN,
                new JsonObject()
                    .put("requestId", "r-1")
                    .put("ranks", new JsonArray(List.of(0, 1)))
                    .put("labelerId", "alice")
                    .encode());

        assertThat(reply.status()).as(reply.body()).isEqualTo(503);
        assertThat(reply.json().getString("error"))
            .isEqualTo(
                "the Kafka cluster does not allow this gateway to write rlhf.comparisons: nothing"
                    + " was recorded, and the gateway stops");
        // no retry mends it: no Retry-After, so the labeling page does not offer one
        assertThat(reply.header("Retry-After")).isNull();
        // it ends, failed with the refusal, for its process to say so and exit 2 (not retried
        // by every labeler's client into the same 503 forever)
        var ended = node.ended();
        try {
          ended.get(WAIT.toSeconds(), TimeUnit.SECONDS);
        } catch (ExecutionException e) {
          assertThat(e.getCause())
              .isInstanceOf(VerticleFailure.class)
              .hasRootCauseInstanceOf(TopicAuthorizationException.class);
        }
        assertThat(ended).isCompletedExceptionally();
        assertThat(client.comparisonsFor("r-1")).isEmpty();
      } finally {
        node.stop();
      }
    } finally {
      vertx.close().await();
    }
  }
}
