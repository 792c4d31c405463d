package io.streamrlhf.actors;

import io.streamrlhf.schemas.Comparison;
import io.streamrlhf.schemas.LabelRequest;
import io.streamrlhf.tasks.Completion;
import io.streamrlhf.tasks.Labeler;
import io.streamrlhf.tasks.Oracle;
import io.streamrlhf.tasks.SplitMix64;
import io.streamrlhf.tasks.Task;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * TASKS.md's simulated labelers answering label requests: each request goes to one of N labelers
 * (and, for an {@code overlap} share, to a second one too, so agreement between labelers can be
 * measured on the stream as InstructGPT measured it on overlapping work), who ranks its K answers
 * by the oracle's score plus Gumbel noise of scale β ({@link Labeler}).
 *
 * <p>Everything is a function of (seed, request id, labeler): which labelers answer, and the noise
 * each draws for this request (the labeler's own stream, seeded per request). A request answered
 * again after a restart therefore yields the very same comparisons, under the same id and
 * idempotency key, and the reward trainer counts them once.
 */
public final class SimulatedLabelerPool {
  /** The {@code kind} of every comparison these labelers write. */
  public static final String KIND = "simulated";

  private final int labelers;
  private final double beta;
  private final double overlap;
  private final long seed;
  private final String crew;

  /**
   * @param labelers how many labelers share the requests (ids 1..N)
   * @param beta their noise scale (TASKS.md: calibrated to about 73% agreement on SFT samples)
   * @param overlap the share of requests a second labeler ranks as well (needs N ≥ 2)
   */
  public SimulatedLabelerPool(int labelers, double beta, double overlap, long seed) {
    this(labelers, beta, overlap, seed, "");
  }

  /**
   * As {@link #SimulatedLabelerPool(int, double, double, long)}, for a crew of other labelers
   * ranking the same requests again (another consumer group): their ids are {@code
   * CREW/simulated-N} and their noise is their own, so their comparisons are new ones, not repeated
   * deliveries of the first crew's. The empty crew is the first.
   */
  public SimulatedLabelerPool(int labelers, double beta, double overlap, long seed, String crew) {
    if (labelers < 1) throw new IllegalArgumentException("need at least one labeler");
    if (!(beta >= 0) || Double.isInfinite(beta))
      throw new IllegalArgumentException("beta must be finite and >= 0, got " + beta);
    if (!(overlap >= 0 && overlap <= 1))
      throw new IllegalArgumentException("overlap must be in [0, 1], got " + overlap);
    this.labelers = labelers;
    this.beta = beta;
    this.overlap = overlap;
    this.seed = seed;
    this.crew = crew;
  }

  public double beta() {
    return beta;
  }

  private String crewed(String name) {
    return crew.isEmpty() ? name : crew + "/" + name;
  }

  /** A simulated labeler's id on its comparisons (the first crew's). */
  public static String labelerId(int labeler) {
    return "simulated-" + labeler;
  }

  /**
   * The comparisons the request's labelers make: one, or two for an overlapping request.
   *
   * @throws IllegalArgumentException when the prompt is not one of TASKS.md's task prompts (there
   *     is no oracle for it to follow) or the request holds fewer than two answers
   */
  public List<Comparison> answer(LabelRequest request, Instant now) {
    var scores = oracleScores(request);
    var requestId = request.getRequestId();
    int first = (int) (unit(requestId) * labelers) + 1;
    var ids = new ArrayList<>(List.of(first));
    if (labelers >= 2 && unit(requestId + "/overlap") < overlap) ids.add(first % labelers + 1);
    var comparisons = new ArrayList<Comparison>(ids.size());
    for (int id : ids) {
      // the labeler's own stream, seeded per request: the same request gets the same noise again
      var labeler = new Labeler(id, beta, SplitMix64.stream(seed, crewed(requestId)).nextLong());
      var labelerId = crewed(labelerId(id));
      var key = requestId + "/" + labelerId;
      comparisons.add(
          Comparison.newBuilder()
              .setComparisonId(key)
              .setRequestId(requestId)
              .setPromptId(request.getPromptId())
              .setPromptText(request.getPromptText())
              .setResponses(request.getResponses())
              .setRanks(ranks(labeler.rank(scores), request.getResponses()))
              .setLabelerId(labelerId)
              .setKind(KIND)
              .setIdempotencyKey(key)
              .setCreatedAt(now)
              .build());
    }
    return comparisons;
  }

  /**
   * The oracle's score of each answer, as a labeler sees it: text only ({@link
   * Completion#ofLabelText}).
   */
  public static double[] oracleScores(LabelRequest request) {
    if (request.getResponses().size() < 2) {
      throw new IllegalArgumentException(
          "label request " + request.getRequestId() + " holds fewer than 2 answers");
    }
    var task = Task.parse(request.getPromptText());
    return request.getResponses().stream()
        .mapToDouble(r -> Oracle.grade(task, Completion.ofLabelText(r)).score())
        .toArray();
  }

  /**
   * The scores of the request's distinct answers: identical answers are one answer (copies are
   * ties, not preferences), as the reward stage calibrates.
   */
  public static double[] distinctOracleScores(LabelRequest request) {
    var scores = oracleScores(request);
    var responses = request.getResponses();
    var distinct = new ArrayList<Double>();
    for (int i = 0; i < responses.size(); i++) {
      if (!responses.subList(0, i).contains(responses.get(i))) distinct.add(scores[i]);
    }
    return distinct.stream().mapToDouble(Double::doubleValue).toArray();
  }

  /**
   * ranks[i] = position of answer i in the labeler's order (0 best); identical answers tie at their
   * first copy's rank ({@link Labeler#tieCopies}).
   */
  static List<Integer> ranks(int[] bestFirst, List<String> responses) {
    return Arrays.stream(Labeler.ranks(bestFirst, responses, String::equals)).boxed().toList();
  }

  private double unit(String key) {
    return SplitMix64.stream(seed, key).nextDouble();
  }
}
