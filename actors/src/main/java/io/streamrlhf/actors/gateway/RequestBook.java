package io.streamrlhf.actors.gateway;

import io.streamrlhf.schemas.Comparison;
import io.streamrlhf.schemas.LabelRequest;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * What the gateway knows of the feedback stream, rebuilt from the topics on every start: the label
 * requests ({@code rlhf.label-requests}), who answered which ({@code rlhf.comparisons}, every kind
 * of labeler), which requests still wait for a person, and the idempotency keys already used.
 *
 * <p>A request waits until a person or a tool has ranked it ({@link #PEOPLE_PER_REQUEST}); the
 * simulated labelers rank every request and do not take it away from people. Requests and answers
 * are kept for the newest {@link #CAPACITY} requests; an older request id is unknown again.
 *
 * <p>Not thread-safe: the gateway verticle alone touches it, on its event loop.
 */
final class RequestBook {
  /** How many requests (and their answers) are remembered: a few MB of text at most. */
  static final int CAPACITY = 100_000;

  /** A request stops waiting once this many people (or tools) ranked it. */
  static final int PEOPLE_PER_REQUEST = 1;

  private final Map<String, LabelRequest> requests;
  private final Map<String, Answers> answers;
  private final Set<String> waiting = new LinkedHashSet<>(); // oldest first
  private final Map<String, Comparison> byKey;
  private final Map<String, Own> own;
  private final Map<String, Long> perLabeler = new HashMap<>();
  private long comparisons;

  /** Who answered or skipped one request, and how many of them were people or tools. */
  private static final class Answers {
    final Set<String> labelers = new HashSet<>();
    final Set<String> skippedBy = new HashSet<>();
    int people;
    boolean completed;
  }

  RequestBook() {
    this(CAPACITY);
  }

  RequestBook(int capacity) {
    this.requests = bounded(capacity, waiting);
    this.answers = bounded(capacity, null);
    this.byKey = bounded(capacity, null);
    this.own = bounded(capacity, null);
  }

  private static <V> Map<String, V> bounded(int capacity, Set<String> alsoForget) {
    return new LinkedHashMap<>() {
      @Override
      protected boolean removeEldestEntry(Map.Entry<String, V> eldest) {
        if (size() <= capacity) return false;
        if (alsoForget != null) alsoForget.remove(eldest.getKey());
        return true;
      }
    };
  }

  /**
   * The newest reward-model version the actors scored with when they asked, as the requests tell:
   * the page shows it advance while people rank.
   */
  long newestRewardVersion() {
    return newestRewardVersion;
  }

  private long newestRewardVersion;

  /** A request read from the topic; a request read twice (a replay) is kept once. */
  void addRequest(LabelRequest request) {
    var id = request.getRequestId();
    newestRewardVersion = Math.max(newestRewardVersion, request.getRewardVersion());
    if (requests.containsKey(id)) return;
    requests.put(id, request);
    var a = answers.get(id);
    if (a == null || (a.people < PEOPLE_PER_REQUEST && !a.completed)) waiting.add(id);
  }

  /**
   * Where a comparison this gateway writes stands: the acknowledgement and the topic's copy of it
   * arrive in either order, and whichever comes first counts it.
   */
  private enum Own {
    SENDING,
    ACKNOWLEDGED,
    READ_BACK
  }

  /** This gateway is about to write {@code c}. */
  void sending(Comparison c) {
    own.put(c.getComparisonId(), Own.SENDING);
  }

  /** The broker did not acknowledge {@code c}: unless it was read back anyway, it is not there. */
  void notSent(Comparison c) {
    own.remove(c.getComparisonId(), Own.SENDING);
  }

  /** A comparison read from the topic; each is counted once, however it arrived first. */
  void addComparison(Comparison c) {
    var state = own.get(c.getComparisonId());
    if (state == Own.ACKNOWLEDGED) {
      own.remove(c.getComparisonId());
      return;
    }
    if (state == Own.SENDING) own.put(c.getComparisonId(), Own.READ_BACK);
    apply(c);
  }

  /** A comparison this gateway wrote and the broker acknowledged. */
  void addOwn(Comparison c) {
    if (own.get(c.getComparisonId()) == Own.READ_BACK) {
      own.remove(c.getComparisonId());
      return;
    }
    own.put(c.getComparisonId(), Own.ACKNOWLEDGED);
    apply(c);
  }

  private void apply(Comparison c) {
    comparisons++;
    // as the API spells it: a comparison another writer put on the topic may spell it otherwise
    var labeler = Submission.spelling(c.getLabelerId());
    perLabeler.merge(labeler, 1L, Long::sum);
    var requestId = c.getRequestId();
    if (requestId == null) return;
    var a = answers.computeIfAbsent(requestId, id -> new Answers());
    a.labelers.add(labeler);
    if (!Submission.SIMULATED.equals(c.getKind())) {
      a.people++;
      if (a.people >= PEOPLE_PER_REQUEST) waiting.remove(requestId);
      if (c.getIdempotencyKey() != null)
        byKey.put(Submission.scopedKey(c.getKind(), labeler, c.getIdempotencyKey()), c);
    }
  }

  Optional<LabelRequest> request(String requestId) {
    return Optional.ofNullable(requests.get(requestId));
  }

  boolean answered(String requestId, String labelerId) {
    var a = answers.get(requestId);
    return a != null && a.labelers.contains(labelerId);
  }

  /** The comparison written earlier under this scoped idempotency key, if any. */
  Optional<Comparison> byKey(String scopedKey) {
    return Optional.ofNullable(byKey.get(scopedKey));
  }

  /** The oldest waiting request this labeler has neither answered nor skipped. */
  Optional<LabelRequest> next(String labelerId) {
    for (var id : waiting) if (open(id, labelerId)) return Optional.of(requests.get(id));
    return Optional.empty();
  }

  /** How many waiting requests {@link #next} could still offer this labeler. */
  int waitingFor(String labelerId) {
    int n = 0;
    for (var id : waiting) if (open(id, labelerId)) n++;
    return n;
  }

  private boolean open(String requestId, String labelerId) {
    var a = answers.get(requestId);
    return a == null || !(a.labelers.contains(labelerId) || a.skippedBy.contains(labelerId));
  }

  /** The labeler passed on this request: it is not offered to them again (until a restart). */
  void skip(String requestId, String labelerId) {
    answers.computeIfAbsent(requestId, id -> new Answers()).skippedBy.add(labelerId);
  }

  /**
   * The labeling tool says the request needs no more answers (Argilla's record.completed). Kept in
   * memory, as a skip is: after a restart the request waits again until it has the rankings of
   * {@link #PEOPLE_PER_REQUEST} people, which the comparisons topic holds.
   */
  void complete(String requestId) {
    answers.computeIfAbsent(requestId, id -> new Answers()).completed = true;
    waiting.remove(requestId);
  }

  /** Requests waiting for a person. */
  int waiting() {
    return waiting.size();
  }

  /** Comparisons seen per labeler id (every kind), sorted by id. */
  Map<String, Long> perLabeler() {
    return new TreeMap<>(perLabeler);
  }

  long count(String labelerId) {
    return perLabeler.getOrDefault(labelerId, 0L);
  }

  long comparisons() {
    return comparisons;
  }
}
