package io.streamrlhf.infra.cli;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class GatewayTokenTest {
  @Test
  void aShortTokenIsWarnedOfOnlyWhereOtherMachinesCanReachThePage() {
    assertThat(GatewayToken.warning("t0k", "0.0.0.0"))
        .startsWith("warning: the token (--token or $RLHF_GATEWAY_TOKEN) is 3 character(s)")
        .contains("listens on 0.0.0.0, which other machines can reach")
        .endsWith("give one of 16 or more, or none for a random one");
    // this machine only: the user who can reach it can read the token anyway
    assertThat(GatewayToken.warning("t0k", "127.0.0.1")).isNull();
    assertThat(GatewayToken.warning("t0k", "localhost")).isNull();
    assertThat(GatewayToken.warning("t0k", "::1")).isNull();
    // long enough, or made up by the gateway (32 random bytes)
    assertThat(GatewayToken.warning("0123456789abcdef", "0.0.0.0")).isNull();
    assertThat(GatewayToken.warning("0123456789abcde", "0.0.0.0")).isNotNull();
    assertThat(GatewayToken.warning(null, "0.0.0.0")).isNull();
  }
}
