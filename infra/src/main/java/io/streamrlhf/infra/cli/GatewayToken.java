package io.streamrlhf.infra.cli;

import java.net.InetAddress;
import java.net.UnknownHostException;

/** The bearer token a feedback gateway's labeling page and API ask for, as the user chose it. */
final class GatewayToken {
  static final String ENV = "RLHF_GATEWAY_TOKEN";

  /** The shortest token given without a warning when other machines can reach the page. */
  static final int SHORTEST_UNWARNED = 16;

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

  /**
   * A warning for a short token on an address other machines can reach, where one who guesses it
   * ranks answers the reward model learns from; null when the page listens on this machine only or
   * the token is long enough.
   */
  static String warning(String given, String host) {
    if (given == null || given.length() >= SHORTEST_UNWARNED || loopback(host)) return null;
    return String.format(
        "warning: the token (--token or $%s) is %d character(s) and the page listens on %s, which"
            + " other machines can reach: whoever guesses it ranks answers as a labeler; give one of"
            + " %d or more, or none for a random one",
        ENV, given.length(), host, SHORTEST_UNWARNED);
  }

  private static boolean loopback(String host) {
    try {
      return InetAddress.getByName(host).isLoopbackAddress();
    } catch (UnknownHostException e) {
      return false; // not this machine's: listening on it fails, and says so, first
    }
  }
}
