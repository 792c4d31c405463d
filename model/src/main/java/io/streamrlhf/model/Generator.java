package io.streamrlhf.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

/**
 * Batched sampling from a {@link Gpt}: left-padded prompts of any lengths, then one token per row
 * per step until every row drew EOS or {@code maxNewTokens}. With the KV cache ({@link KvCache}) a
 * prefill runs the prompts once and each later step feeds one token per row still sampling (rows
 * that ended are dropped from the cache once they are half the batch); without it every step
 * recomputes the whole prefix, the oracle the cache is tested against. Tokens are drawn on the JVM
 * ({@link TokenSampler}) from seeded streams, so the same seed, prompts and weights give the same
 * responses.
 *
 * <p>Never records gradients: grad mode is off for the call and restored afterwards. Like the
 * model, not thread-safe.
 */
public final class Generator {

  /**
   * Intra-op threads for KV-cache decode steps. A step multiplies a handful of rows (one per
   * prompt) by each weight matrix, ~30 µs of work per product on one core, less than an OpenMP
   * fork/join costs when the waiters sleep (OMP_WAIT_POLICY=PASSIVE) and much less than waiting for
   * a second core another process holds. PyTorch keeps the count per thread (the OpenMP ICV and
   * MKL's thread-local setting), so the caller's count is restored after generation; prefill and
   * the no-cache path, with hundreds of rows per product, keep the caller's threads.
   */
  private static final int DECODE_THREADS = 1;

  private final Gpt model;

  /** Samples from {@code model}'s current weights (an actor may load new ones between calls). */
  public Generator(Gpt model) {
    this.model = model;
  }

  /**
   * How to sample.
   *
   * @param maxNewTokens at most this many tokens per response (EOS included)
   * @param temperature logits are divided by it before the softmax; must be positive
   * @param topK keep only the k most likely tokens (ties at the k-th kept too); 0 keeps all
   * @param seed the sampling stream: the same seed, prompts and weights give the same tokens
   * @param draw how a token is drawn from the probabilities (the distribution is the same)
   */
  public record Sampling(int maxNewTokens, float temperature, int topK, long seed, TokenDraw draw) {
    /** Inverse-CDF sampling, the cheaper draw. */
    public Sampling(int maxNewTokens, float temperature, int topK, long seed) {
      this(maxNewTokens, temperature, topK, seed, TokenDraw.INVERSE_CDF);
    }

    public Sampling {
      if (draw == null) {
        throw new IllegalArgumentException("draw must be given");
      }
      if (maxNewTokens < 1) {
        throw new IllegalArgumentException("maxNewTokens must be at least 1, got " + maxNewTokens);
      }
      if (!(temperature > 0)) {
        throw new IllegalArgumentException("temperature must be positive, got " + temperature);
      }
      if (topK < 0) {
        throw new IllegalArgumentException("topK must be 0 (off) or positive, got " + topK);
      }
    }
  }

  /**
   * How one token is drawn from the next-token probabilities. Both give the same distribution; they
   * differ in how two models fed the same random numbers relate.
   */
  public enum TokenDraw {
    /** One uniform per token, through the CDF in token-id order: the cheapest. */
    INVERSE_CDF,
    /**
     * One random number per vocabulary entry (Gumbel-max). Two models fed the same numbers pick the
     * same token whenever the second raised the first's pick by a larger factor than any other
     * token: a policy that sharpens a reference keeps the reference's likely picks, so where it
     * keeps them the two draw the same sample. For comparing models' samples.
     */
    GUMBEL_MAX
  }

  /**
   * One sampled response.
   *
   * @param tokens the response, ending with EOS when {@code terminated}
   * @param behaviourLogProbs per token, log of the probability it was sampled with: log-softmax of
   *     logits / temperature, restricted to and renormalised over the top-k set when topK > 0 (with
   *     topK = 0 exactly what {@link Gpt#score} computes at the same temperature)
   * @param terminated true when the response ended with EOS, false when cut at maxNewTokens
   */
  public record Completion(
      int[] tokens, float[] behaviourLogProbs, boolean terminated, long[] tokenVersions) {
    /** A completion sampled by one policy version throughout (version 0 when nobody said). */
    public Completion(int[] tokens, float[] behaviourLogProbs, boolean terminated) {
      this(tokens, behaviourLogProbs, terminated, new long[tokens.length]);
    }
  }

  /**
   * Which policy version computes each token, and the chance to move to a newer one between decode
   * steps: PipelineRL's in-flight weight update (Piché et al. 2025). {@link #beforeStep} runs
   * before the logits of token {@code step} are computed (step 0: before the prefill) and returns
   * the version whose weights compute them; it may load newer weights into the model in place.
   *
   * <p>The KV cache is kept across such a swap, so after it the cache holds keys and values the
   * older weights computed for the earlier positions. The new version's next-token distribution is
   * then not exactly what it would give on a fresh forward pass; PipelineRL accepts that
   * approximation (recomputing the cache would cost a prefill per swap). The recorded behaviour
   * log-prob is still exactly the probability the token was sampled with, which is what the
   * learner's importance weight needs.
   */
  @FunctionalInterface
  public interface Versions {
    long beforeStep(int step);

    /** One version for the whole batch: the policy only changes between batches. */
    static Versions fixed(long version) {
      return step -> version;
    }
  }

  /**
   * Observes the next-token logits before each sampling step, for tests: row i of {@code logits}
   * ([rows × V], row-major) belongs to batch row {@code rows[i]}; the cached path stops computing
   * rows that have ended.
   */
  interface StepObserver {
    void onStep(int step, int[] rows, float[] logits);
  }

  /** Batched sampling with the KV cache. Prompts may differ in length (≥ 1 token each). */
  public List<Completion> generate(List<int[]> prompts, Sampling sampling) {
    return generate(prompts, sampling, true, null);
  }

  /**
   * Batched sampling with the KV cache where row r draws from its own stream seeded {@code
   * rowSeeds[r]} ({@code sampling.seed()} is not used): a row's tokens then depend on its prompt,
   * its seed and the weights, not on which other rows share the batch, so a prompt sampled by any
   * rollout actor in any grouping gives the response the in-process sampler gives it.
   */
  public List<Completion> generate(List<int[]> prompts, Sampling sampling, long[] rowSeeds) {
    return generate(prompts, sampling, rowSeeds, Versions.fixed(0));
  }

  /**
   * {@link #generate(List, Sampling, long[])} asking {@code versions} before each step which policy
   * version computes it (and letting it load a newer one into the model): each completion's {@link
   * Completion#tokenVersions} tag every token with the version that sampled it.
   */
  public List<Completion> generate(
      List<int[]> prompts, Sampling sampling, long[] rowSeeds, Versions versions) {
    if (rowSeeds.length != prompts.size()) {
      throw new IllegalArgumentException(
          rowSeeds.length + " row seeds for " + prompts.size() + " prompts");
    }
    var rngs = new SplittableRandom[rowSeeds.length];
    for (int row = 0; row < rngs.length; row++) {
      rngs[row] = new SplittableRandom(rowSeeds[row]);
    }
    return generate(prompts, sampling, true, null, rngs, versions);
  }

  /** The same sampling, recomputing the whole prefix every step: the oracle and the baseline. */
  public List<Completion> generateWithoutCache(List<int[]> prompts, Sampling sampling) {
    return generate(prompts, sampling, false, null);
  }

  List<Completion> generate(
      List<int[]> prompts, Sampling sampling, boolean useCache, StepObserver observer) {
    // One stream shared by every row, drawn row by row at each step.
    var shared = new SplittableRandom(sampling.seed());
    var rngs = new SplittableRandom[prompts.size()];
    Arrays.fill(rngs, shared);
    return generate(prompts, sampling, useCache, observer, rngs, Versions.fixed(0));
  }

  private List<Completion> generate(
      List<int[]> prompts,
      Sampling sampling,
      boolean useCache,
      StepObserver observer,
      SplittableRandom[] rngs,
      Versions versions) {
    int batch = prompts.size();
    int promptWidth =
        prompts.stream()
            .mapToInt(p -> p.length)
            .max()
            .orElseThrow(() -> new IllegalArgumentException("no prompts to generate from"));
    if (prompts.stream().anyMatch(p -> p.length == 0)) {
      throw new IllegalArgumentException("every prompt needs at least one token");
    }
    int n = sampling.maxNewTokens();
    int slots = promptWidth + n;
    var config = model.config();
    if (slots > config.contextLength()) {
      throw new IllegalArgumentException(
          "longest prompt "
              + promptWidth
              + " + "
              + n
              + " new tokens exceeds the context length "
              + config.contextLength());
    }
    int vocab = config.vocabSize();
    // Row-major [B, slots]: left-padded prompts, then generated tokens at slots promptWidth + j.
    long[] slotTokens = new long[batch * slots];
    boolean[] realSlot = new boolean[batch * slots];
    int[] promptLengths = new int[batch];
    Arrays.fill(slotTokens, ByteTokenizer.PAD);
    for (int row = 0; row < batch; row++) {
      int[] prompt = prompts.get(row);
      promptLengths[row] = prompt.length;
      int start = row * slots + promptWidth - prompt.length;
      for (int i = 0; i < prompt.length; i++) {
        slotTokens[start + i] = prompt[i];
      }
      // Prompt tokens and every generated slot are keys; a finished row's later slots are
      // ignored but must stay identical between the cached and uncached paths.
      Arrays.fill(realSlot, start, row * slots + slots, true);
    }
    var tokens = new int[batch][n];
    var logProbs = new float[batch][n];
    var tokenVersions = new long[batch][n];
    int[] produced = new int[batch];
    boolean[] terminated = new boolean[batch];

    boolean gradMode = JniUtils.isGradMode();
    JniUtils.setGradMode(false);
    int callerThreads = JniUtils.getNumThreads();
    try (NDManager scope = model.manager().newSubManager()) {
      var keyMask = scope.create(realSlot, new Shape(batch, slots));
      var cache = useCache ? new KvCache(model, scope, keyMask, promptWidth) : null;
      long version = versions.beforeStep(0);
      float[] logits =
          useCache
              ? prefill(scope, slotTokens, keyMask, cache, batch, slots, promptWidth)
              : recompute(scope, slotTokens, realSlot, batch, slots, promptWidth);
      if (useCache && callerThreads > DECODE_THREADS) {
        JniUtils.setNumThreads(DECODE_THREADS);
      }
      // rows[i] is the batch row whose logits are row i: the rows still sampling (all at first)
      int[] rows = IntStream.range(0, batch).toArray();
      for (int step = 0; ; step++) {
        if (observer != null) {
          observer.onStep(step, rows, logits);
        }
        int running = 0;
        for (int i = 0; i < rows.length; i++) {
          int row = rows[i];
          if (terminated[row]) {
            continue;
          }
          var draw =
              TokenSampler.draw(
                  logits,
                  i * vocab,
                  vocab,
                  sampling.temperature(),
                  sampling.topK(),
                  sampling.draw(),
                  rngs[row]);
          tokens[row][step] = draw.token();
          logProbs[row][step] = (float) draw.logProb();
          tokenVersions[row][step] = version;
          produced[row]++;
          slotTokens[row * slots + promptWidth + step] = draw.token();
          terminated[row] = draw.token() == ByteTokenizer.EOS;
          if (!terminated[row]) running++;
        }
        if (running == 0 || step + 1 == n) {
          break;
        }
        // between decode steps: the only point where the weights may change inside a batch
        version = versions.beforeStep(step + 1);
        if (useCache) {
          // A batch runs until its longest answer ends, typically several times the mean length:
          // once half the rows have ended, drop them, so steps cost what the live rows need.
          if (running <= rows.length / 2) {
            rows = keepRunning(scope, cache, rows, terminated, running);
          }
          logits = decode(scope, slotTokens, cache, rows, promptLengths, slots, promptWidth, step);
        } else {
          logits = recompute(scope, slotTokens, realSlot, batch, slots, promptWidth + step + 1);
        }
      }
    } finally {
      if (JniUtils.getNumThreads() != callerThreads) {
        JniUtils.setNumThreads(callerThreads);
      }
      JniUtils.setGradMode(gradMode);
    }
    var completions = new ArrayList<Completion>(batch);
    for (int row = 0; row < batch; row++) {
      completions.add(
          new Completion(
              Arrays.copyOf(tokens[row], produced[row]),
              Arrays.copyOf(logProbs[row], produced[row]),
              terminated[row],
              Arrays.copyOf(tokenVersions[row], produced[row])));
    }
    return completions;
  }

  /** Runs the padded prompts through the model, filling cache slots [0, promptWidth). */
  private float[] prefill(
      NDManager scope,
      long[] slotTokens,
      NDArray keyMask,
      KvCache cache,
      int batch,
      int slots,
      int promptWidth) {
    try (NDManager step = scope.newSubManager()) {
      var tokens =
          step.create(
              firstSlots(slotTokens, batch, slots, promptWidth), new Shape(batch, promptWidth));
      var promptMask = JniUtils.slice(Gpt.pt(keyMask), 1, 0, promptWidth, 1);
      promptMask.attach(step);
      var hidden =
          model.trunk(
              tokens,
              Gpt.positionsOf(promptMask),
              model.attentionBias(step, keyMask, 0, promptWidth),
              cache,
              0);
      return lastLogits(hidden, batch);
    }
  }

  /**
   * Drops the rows that have ended from the cache; returns the batch rows of those kept, in order.
   */
  private static int[] keepRunning(
      NDManager scope, KvCache cache, int[] rows, boolean[] terminated, int running) {
    long[] kept = new long[running];
    int[] keptRows = new int[running];
    for (int i = 0, j = 0; i < rows.length; i++) {
      if (!terminated[rows[i]]) {
        kept[j] = i;
        keptRows[j++] = rows[i];
      }
    }
    try (var index = scope.create(kept)) {
      cache.keep(index);
    }
    return keptRows;
  }

  /**
   * Feeds every listed row's token of decode step {@code step} (slot promptWidth + step) and
   * returns the logits for the next one, [rows × V].
   */
  private float[] decode(
      NDManager scope,
      long[] slotTokens,
      KvCache cache,
      int[] rows,
      int[] promptLengths,
      int slots,
      int promptWidth,
      int step) {
    int slot = promptWidth + step;
    long[] tokens = new long[rows.length];
    long[] positions = new long[rows.length];
    for (int i = 0; i < rows.length; i++) {
      tokens[i] = slotTokens[rows[i] * slots + slot];
      positions[i] = promptLengths[rows[i]] + step;
    }
    try (NDManager scoped = scope.newSubManager()) {
      var bias = cache.decodeBias(step);
      bias.attach(scoped);
      var hidden =
          model.trunk(
              scoped.create(tokens, new Shape(rows.length, 1)),
              scoped.create(positions, new Shape(rows.length, 1)),
              bias,
              cache,
              slot);
      return lastLogits(hidden, rows.length);
    }
  }

  /** Full recomputation over slots [0, length): the public forward path, no cache. */
  private float[] recompute(
      NDManager scope, long[] slotTokens, boolean[] realSlot, int batch, int slots, int length) {
    try (NDManager step = scope.newSubManager()) {
      var tokens =
          step.create(firstSlots(slotTokens, batch, slots, length), new Shape(batch, length));
      boolean[] mask = new boolean[batch * length];
      for (int row = 0; row < batch; row++) {
        System.arraycopy(realSlot, row * slots, mask, row * length, length);
      }
      var keyMask = step.create(mask, new Shape(batch, length));
      var hidden =
          model.trunk(
              tokens,
              Gpt.positionsOf(keyMask),
              model.attentionBias(step, keyMask, 0, length),
              null,
              0);
      return lastLogits(hidden, batch);
    }
  }

  /** Next-token logits of every row, [B × V] row-major, from hidden states [B·T, d_model]. */
  private float[] lastLogits(PtNDArray hidden, long batch) {
    long t = hidden.getShape().get(0) / batch;
    long dModel = model.config().dModel();
    var last =
        t == 1
            ? hidden
            : JniUtils.reshape(
                JniUtils.slice(
                    JniUtils.reshape(hidden, new long[] {batch, t, dModel}), 1, t - 1, t, 1),
                new long[] {batch, dModel});
    var logits = model.logits(last);
    return (logits.getDataType() == DataType.FLOAT32
            ? logits
            : logits.toType(DataType.FLOAT32, false))
        .toFloatArray();
  }

  private static long[] firstSlots(long[] slotTokens, int batch, int slots, int length) {
    long[] out = new long[batch * length];
    for (int row = 0; row < batch; row++) {
      System.arraycopy(slotTokens, row * slots, out, row * length, length);
    }
    return out;
  }
}
