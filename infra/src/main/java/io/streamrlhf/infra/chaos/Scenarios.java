package io.streamrlhf.infra.chaos;

import java.util.List;
import java.util.Optional;

/** Every scenario of {@code rlhf chaos}, the fast ones first. */
public final class Scenarios {
  private Scenarios() {}

  public static List<Scenario> all() {
    return List.of(
        new PoisonRecords(),
        new WeightMangling(),
        new SecondLearner(),
        new LearnerKills(1),
        new LearnerKills(3),
        new ActorKill(),
        new BrokerOutage(),
        new Soak());
  }

  public static Optional<Scenario> byName(String name) {
    return all().stream().filter(s -> s.name().equals(name)).findFirst();
  }
}
