package io.streamrlhf.learner.stream;

import io.streamrlhf.learner.train.InputError;
import io.streamrlhf.schemas.transport.Durations;
import io.streamrlhf.schemas.transport.KafkaClientConfigs;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Supplier;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.TimeoutException;

/**
 * The one Kafka producer of a publisher the cluster may hold only one of (the learner, the reward
 * trainer), and with it "one per cluster" on the broker's side: its {@code transactional.id} is the
 * same for every process of that role ({@link #LEARNER}, {@link #REWARD_TRAINER}; a cluster holds
 * one run, whose topics say which), {@code initTransactions} at start fences every earlier producer
 * of that id, and every publish (weights, prompts, dead letters) is a transaction. A zombie, one a
 * restarted process of the same run replaced (say on another machine, after a partition), has its
 * next transaction refused by the broker (ProducerFencedException) and stops with one line;
 * consumers read {@code read_committed}, so nothing it sent in that transaction is ever seen. So
 * does the first of two new runs started together on one cluster, which both found its topics
 * empty: each checks that before it starts producing, and the later one fences the earlier, whose
 * versions the actors would otherwise have mixed with its own.
 *
 * <p>A transaction in which nothing was sent costs no round trip (the client completes it locally),
 * so every poll of a reader that may send dead letters is wrapped in one.
 */
final class TransactionalProducer implements AutoCloseable {
  /** A role the cluster holds one of: its {@code transactional.id} and its name in messages. */
  record Role(String transactionalId, String name) {}

  /** Every learner. */
  static final Role LEARNER = new Role(KafkaClientConfigs.LEARNER_TRANSACTIONAL_ID, "learner");

  /** Every reward trainer. */
  static final Role REWARD_TRAINER =
      new Role(KafkaClientConfigs.REWARD_TRAINER_TRANSACTIONAL_ID, "reward trainer");

  private final KafkaProducer<byte[], byte[]> producer;
  private final Role role;
  private final String which;
  private final Duration timeout;

  /**
   * A producer of {@code config} (an idempotent one) with the role's transactional id, its
   * transactions initialised: any earlier process of the role on the cluster is fenced from here
   * on.
   *
   * @param which this process, as a fenced one names itself ("of run r18c…")
   * @param timeout how long a commit may be retried while the broker does not answer
   */
  TransactionalProducer(Map<String, Object> config, Role role, String which, Duration timeout) {
    var transactional = new HashMap<>(config);
    transactional.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, role.transactionalId());
    this.producer = new KafkaProducer<>(transactional);
    this.role = role;
    this.which = which;
    this.timeout = timeout;
    try {
      producer.initTransactions();
    } catch (RuntimeException e) {
      producer.close(Duration.ZERO);
      throw e;
    }
  }

  /** The producer to send with, inside {@link #inTransaction}. */
  Producer<byte[], byte[]> producer() {
    return producer;
  }

  /**
   * Runs {@code body}, which sends with {@link #producer()} and waits for its acknowledgements, as
   * one transaction, and commits it; aborts it when {@code body} fails.
   *
   * @param what what the transaction publishes, named if this process is fenced
   * @throws InputError when another process of the role took over (this one must stop)
   */
  <T> T inTransaction(String what, Supplier<T> body) {
    T result;
    try {
      producer.beginTransaction();
      result = body.get();
    } catch (RuntimeException e) {
      throw failed(what, e);
    }
    commit(what);
    return result;
  }

  /** The same for a body without a result. */
  void inTransaction(String what, Runnable body) {
    inTransaction(
        what,
        () -> {
          body.run();
          return null;
        });
  }

  private void commit(String what) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      try {
        producer.commitTransaction();
        return;
      } catch (TimeoutException e) {
        // the client allows retrying a commit that timed out; give up at the caller's bound
        if (System.nanoTime() > deadline) {
          throw new IllegalStateException(
              what
                  + ": transaction not committed by the broker within "
                  + Durations.readable(timeout)
                  + ": "
                  + e,
              e);
        }
      } catch (RuntimeException e) {
        throw failed(what, e);
      }
    }
  }

  /**
   * What to throw for a transaction that failed with {@code e}, which is aborted. A send of a
   * fenced producer fails with an old epoch, as one of a transaction the broker timed out does; the
   * abort tells them apart, since only a fenced producer's abort is refused as fenced.
   */
  private RuntimeException failed(String what, RuntimeException e) {
    if (fenced(e)) return fencedError(what);
    try {
      producer.abortTransaction();
    } catch (RuntimeException abort) {
      if (fenced(abort)) return fencedError(what);
      e.addSuppressed(abort); // the learner stops; the broker aborts the transaction on timeout
    }
    return e;
  }

  private static boolean fenced(Throwable e) {
    for (var cause = e; cause != null; cause = cause.getCause()) {
      if (cause instanceof ProducerFencedException) return true;
    }
    return false;
  }

  private InputError fencedError(String what) {
    return new InputError(
        "fenced: another "
            + role.name()
            + " started on this cluster (Kafka transactional.id "
            + role.transactionalId()
            + ") and publishes in its place; this "
            + role.name()
            + " "
            + which
            + " stops without publishing "
            + what
            + " (resuming its --out while the other one runs would fence that one in turn)");
  }

  @Override
  public void close() {
    producer.close(timeout);
  }
}
