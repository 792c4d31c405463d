package io.streamrlhf.infra.chaos;

/**
 * A scenario could not go on (a process gave up, a wait passed its bound): the message says what
 * and becomes the scenario's reason for FAIL; the figures are still taken from what the run left.
 */
public final class ScenarioFailure extends RuntimeException {
  public ScenarioFailure(String message) {
    super(message);
  }
}
