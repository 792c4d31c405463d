package io.streamrlhf.infra.chaos;

/**
 * One fault scenario of {@code rlhf chaos}: it runs a loop of real processes, injects its faults,
 * and returns its figures with PASS only when the loop kept its guarantees (every prompt trained on
 * exactly once, nothing applied twice, and what else the scenario promises).
 */
public interface Scenario {
  /** The name {@code --scenario} takes. */
  String name();

  /** One line for {@code --list}: the faults and what must hold. */
  String description();

  /** Whether it runs in seconds (and so in {@code mvn verify}); the rest only with --all. */
  boolean fast();

  /**
   * Runs it; never throws for a broken guarantee or a stuck process, which are FAILs in the
   * figures, and leaves no process running.
   */
  Figures run(ChaosRun chaos);
}
