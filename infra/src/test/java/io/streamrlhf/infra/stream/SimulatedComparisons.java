package io.streamrlhf.infra.stream;

import io.streamrlhf.learner.reward.HeldOutComparisons;
import io.streamrlhf.schemas.AvroCodec;
import io.streamrlhf.schemas.Comparison;
import io.streamrlhf.schemas.Topics;
import io.streamrlhf.schemas.transport.KafkaClientConfigs;
import io.streamrlhf.tasks.Demonstration;
import io.streamrlhf.tasks.Demonstrations;
import io.streamrlhf.tasks.Labeler;
import io.streamrlhf.tasks.Oracle;
import io.streamrlhf.tasks.SplitMix64;
import io.streamrlhf.tasks.Task;
import io.streamrlhf.tasks.TrainingPrompts;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * A stream of comparisons as TASKS.md's simulated labelers give them, with a preference a tiny
 * model can learn: K = 4 answers per prompt, each the reference answer or the reference wrapped in
 * small talk (even odds, as labelers write them; never all of one kind), ranked by score + Gumbel
 * noise of the demo's calibrated scale. A share of the requests is ranked by a second labeler too,
 * so labeler agreement can be measured.
 */
final class SimulatedComparisons {
  static final int K = 4;

  /** The reward stage's calibrated labeler noise on the demo's SFT samples. */
  private static final double BETA = 0.33;

  private static final double SECOND_OPINIONS = 0.3;

  private final long seed;
  private final TrainingPrompts prompts;
  private final Labeler first;
  private final Labeler second;
  private final SplitMix64 rng;
  private int requests;

  SimulatedComparisons(long seed) {
    this.seed = seed;
    this.prompts = new TrainingPrompts(seed);
    this.first = new Labeler(1, BETA, seed);
    this.second = new Labeler(2, BETA, seed);
    this.rng = SplitMix64.stream(seed, "simulated-comparisons");
  }

  /** The comparisons of the next label request: one labeler's, sometimes two. */
  List<Comparison> nextRequest() {
    var task = prompts.next();
    int request = requests++;
    var responses = new ArrayList<String>();
    var scores = new double[K];
    var kinds = new Demonstration.Kind[K];
    for (int k = 0; k < K; k++) {
      kinds[k] = rng.nextBoolean(0.5) ? Demonstration.Kind.CLEAN : Demonstration.Kind.CHATTER;
    }
    // a set of one kind may be all alike, with no pair to learn from: mix every set
    if (Arrays.stream(kinds).distinct().count() == 1) {
      kinds[K - 1] =
          kinds[0] == Demonstration.Kind.CLEAN
              ? Demonstration.Kind.CHATTER
              : Demonstration.Kind.CLEAN;
    }
    for (int k = 0; k < K; k++) {
      var answer = written(task, kinds[k], request, k);
      responses.add(answer);
      scores[k] = Oracle.grade(task, answer, true).score();
    }
    var out = new ArrayList<Comparison>();
    out.add(comparison(task, request, responses, first, scores));
    if (rng.nextBoolean(SECOND_OPINIONS))
      out.add(comparison(task, request, responses, second, scores));
    return out;
  }

  /** The next requests' comparisons until {@code n} comparisons. */
  List<Comparison> next(int n) {
    var out = new ArrayList<Comparison>();
    while (out.size() < n) {
      for (var c : nextRequest()) if (out.size() < n) out.add(c);
    }
    return out;
  }

  /** Whether the trainer trains on {@code c} (rather than holding it out at {@code share}). */
  static boolean fresh(Comparison c, double share) {
    return !HeldOutComparisons.isHeldOut(c.getRequestId(), share);
  }

  /** A demonstration of the wanted kind, from the first writer stream that writes one. */
  private String written(Task task, Demonstration.Kind kind, int request, int k) {
    for (int attempt = 0; ; attempt++) {
      var writer = SplitMix64.stream(seed, "writer-" + request + "-" + k + "-" + attempt);
      var demo = Demonstrations.write(task, writer);
      if (demo.kind() == kind) return demo.response();
    }
  }

  private static Comparison comparison(
      Task task, int request, List<String> responses, Labeler labeler, double[] scores) {
    var bestFirst = labeler.rank(scores);
    var ranks = new Integer[K];
    for (int position = 0; position < K; position++) ranks[bestFirst[position]] = position;
    return Comparison.newBuilder()
        .setComparisonId("cmp-" + request + "-" + labeler.id())
        .setRequestId("req-" + request)
        .setPromptId("prompt-" + request)
        .setPromptText(task.prompt())
        .setResponses(responses)
        .setRanks(Arrays.asList(ranks))
        .setLabelerId("sim-" + labeler.id())
        .setKind("simulated")
        .setIdempotencyKey(null)
        .setCreatedAt(Instant.now())
        .build();
  }

  /** Produces {@code comparisons} to rlhf.comparisons and waits until the broker has them all. */
  static void produce(String bootstrap, List<Comparison> comparisons) throws Exception {
    var codec = AvroCodec.of(Comparison.class);
    try (var producer =
        new KafkaProducer<byte[], byte[]>(KafkaClientConfigs.producer(bootstrap, "labelers"))) {
      var acks = new ArrayList<Future<?>>();
      for (var c : comparisons) {
        acks.add(
            producer.send(
                new ProducerRecord<>(
                    Topics.COMPARISONS,
                    c.getComparisonId().getBytes(StandardCharsets.UTF_8),
                    codec.encode(c))));
      }
      for (var ack : acks) ack.get(30, TimeUnit.SECONDS);
    }
  }
}
