package io.streamrlhf.infra.cli;

/** The bearer token a feedback gateway's labeling page and API ask for, as the user chose it. */
final class GatewayToken {
  static final String ENV = "RLHF_GATEWAY_TOKEN";

  private GatewayToken() {}

  /** {@code --token}'s value, else {@value #ENV}; null when the gateway should make one up. */
  static String given(String flag) {
    if (flag != null) {
      if (flag.isBlank()) throw new UserError("--token must not be blank");
      return flag;
    }
    var env = System.getenv(ENV);
    return env == null || env.isBlank() ? null : env;
  }
}
