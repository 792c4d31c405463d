package io.streamrlhf.infra.cli;

import static io.streamrlhf.infra.cli.CliRun.run;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class GatewayCliTest {
  @Test
  void helpDocumentsTheEndpointsStatusesAndSecrets() {
    var run = run("gateway", "--help");
    assertThat(run.exitCode()).isZero();
    assertThat(run.out())
        .contains("--bootstrap=HOST:PORT")
        .contains("--rate-limit=PER_MINUTE")
        .contains("GET  /api/requests/next?labeler=ID")
        .contains("GET  /api/status")
        .contains("POST /api/comparisons")
        .contains("POST /webhooks/label-studio")
        .contains("POST /webhooks/argilla")
        .contains("413")
        .contains("429")
        .contains("503")
        .contains("RLHF_GATEWAY_TOKEN");
  }

  @Test
  void badSettingsAreTheUsersMistakeBeforeAnythingConnects() {
    var cases =
        new String[][] {
          {"--argilla-secret", "whsec_not base64!", "whsec_<base64>"},
          {"--cors-origin", "labels.example.org", "scheme://host"},
          {"--rate-limit", "0", "--rate-limit must be at least 1 per minute, got 0"},
          {"--port", "70000", "--port must be in 0..65535, got 70000"},
          {"--port", "-1", "--port must be in 0..65535, got -1"},
          {"--max-body-bytes", "10", "--max-body-bytes must be at least 1024, got 10"},
          // over 24.8 days it overflowed a Kafka setting, and was blamed on the port
          {"--ack-timeout", "P30D", "--ack-timeout must be from 100 ms to 10 minutes, got PT720H"},
          // the page could never send them: every call was 401
          {"--token", "secret ", "API token must be visible ASCII characters without spaces"},
          {"--token", "p\u00e4ss", "its character 2 is not"},
          {"--label-studio-token", "tab\tbed", "Label Studio token must be visible ASCII"},
        };
    for (var c : cases) {
      // an address nothing listens on: the settings are refused before it is tried
      var run = run("gateway", "--bootstrap", "127.0.0.1:1", c[0], c[1]);
      assertThat(run.exitCode()).as(c[0]).isEqualTo(2);
      assertThat(run.err().strip())
          .as(c[0])
          .startsWith("rlhf gateway: ")
          .contains(c[2])
          .doesNotContain("\n");
    }
    // an address this machine does not have (TEST-NET-1) is named as such, not as one in use
    var elsewhere =
        run("gateway", "--bootstrap", "127.0.0.1:1", "--host", "192.0.2.1", "--port", "18099");
    assertThat(elsewhere.exitCode()).isEqualTo(2);
    assertThat(elsewhere.err().strip())
        .startsWith("rlhf gateway: cannot listen on 192.0.2.1:18099: ")
        .endsWith("; 192.0.2.1 is not an address of this machine: choose one it has");
    var missing = run("gateway");
    assertThat(missing.exitCode()).isEqualTo(2);
    assertThat(missing.err()).contains("--bootstrap");
  }
}
