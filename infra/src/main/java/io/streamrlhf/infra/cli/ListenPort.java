package io.streamrlhf.infra.cli;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;

/**
 * The check of a {@code --port} a command will listen on, made before any work starts: a port in
 * use found only when the server starts comes after a broker started, a config was written or, for
 * {@code rlhf demo --live}, minutes of training.
 */
final class ListenPort {
  private ListenPort() {}

  /**
   * Refuses a port out of 0..65535, or one (other than 0, any free one) that cannot be listened on
   * at {@code host} now.
   *
   * @throws UserError naming the port and what to do
   */
  static void require(String host, int port) {
    if (port < 0 || port > 65_535) {
      throw new UserError("--port must be in 0..65535, got " + port);
    }
    if (port == 0) return;
    try (var probe = new ServerSocket()) {
      probe.setReuseAddress(true); // as servers bind: a port left in TIME_WAIT is free
      probe.bind(new InetSocketAddress(host, port));
    } catch (IOException e) {
      var reason = String.valueOf(e.getMessage());
      throw new UserError(
          "cannot listen on "
              + host
              + ":"
              + port
              + ": "
              + reason
              + "; "
              + (reason.contains("already in use")
                  ? "stop what uses it, or choose another --port (0 picks a free one)"
                  : reason.contains("Permission denied")
                      ? "a port below 1024 needs privileges: choose another --port"
                      : host + " is not an address of this machine: choose one it has"));
    }
  }
}
