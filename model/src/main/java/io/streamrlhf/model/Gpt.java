package io.streamrlhf.model;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.function.Supplier;

/**
 * A GPT language model with a scalar head, written directly in DJL NDArray operations on PyTorch.
 *
 * <p>The architecture of GPT-2 (Radford et al. 2019) as in nanoGPT and bench/peer.py (the PyTorch
 * peer): token + learned position embeddings, {@code layers} pre-LayerNorm blocks (causal
 * multi-head attention with one fused q/k/v projection, then a GELU MLP 4× wide), a final
 * LayerNorm, and logits from the token embedding (weight tying, Press &amp; Wolf 2017). A scalar
 * head on the same final hidden state is the per-token value head of PPO and, read at the last real
 * token, the reward model's score (InstructGPT §3.5): a reward model is simply another {@code Gpt}.
 *
 * <p>Padded batches: every row carries a mask of real tokens; positions are the running count of
 * real tokens (cumsum(mask) − 1), and padding is never attended to, so a prompt gives the same
 * logits alone and inside a left-padded batch. Gradients follow PyTorch's per-thread grad mode:
 * inside a DJL {@code GradientCollector} (after {@link #requireGradients()}) the forward records
 * the autograd graph; {@link #withoutGradient} and generation ({@link Generator}) switch it off.
 *
 * <p>Not thread-safe: one thread uses a model at a time. Actors hold their own copies, fed by
 * {@link #snapshot}/{@link #load}.
 */
public final class Gpt implements AutoCloseable {

  /** Additive attention bias for a key a query must not see: exp(−1e9) is 0 in float32 and 64. */
  private static final double MASKED = -1e9;

  private static final float LAYER_NORM_EPS = 1e-5f;

  /** Name prefix of the scalar head's parameters (PPO's value head, the reward model's score). */
  public static final String SCALAR_HEAD = "scalar_head.";

  /** GPT-2's initialisation: N(0, 0.02), residual projections scaled by 1/sqrt(2·layers). */
  private static final double INIT_STD = 0.02;

  /**
   * The logit offset of a token no model may emit: finite, so log-softmax and p·log p stay finite
   * (p is exactly 0 in float32), and representable in half precision.
   */
  static final float NEVER_EMITTED = -1e4f;

  private final GptConfig config;
  private final DataType dataType;
  private final NDManager manager;
  private final Map<String, NDArray> parameters = new LinkedHashMap<>();

  private final NDArray tokenEmbedding;
  private final NDArray positionEmbedding;
  private final Block[] blocks;
  private final NDArray finalNormWeight;
  private final NDArray finalNormBias;
  private final NDArray scalarHeadWeight;
  private final NDArray scalarHeadBias;

  /** 1/sqrt(head dim) as a 0-d array, so the scaling is one native op. */
  private final NDArray attentionScale;

  /**
   * Added to the logits [V]: 0 for the tokens a model may emit (bytes and EOS), {@link
   * #NEVER_EMITTED} for PAD and the reserved ids, so no distribution the model defines (training
   * loss, scores, sampling) gives them mass and a response never holds one.
   */
  private final NDArray outputBias;

  private final ParameterSnapshots snapshots;

  /** One transformer block's parameters; weights in PyTorch's Linear layout [out, in]. */
  private record Block(
      NDArray norm1Weight,
      NDArray norm1Bias,
      NDArray qkvWeight,
      NDArray qkvBias,
      NDArray attnProjWeight,
      NDArray attnProjBias,
      NDArray norm2Weight,
      NDArray norm2Bias,
      NDArray fcWeight,
      NDArray fcBias,
      NDArray mlpProjWeight,
      NDArray mlpProjBias) {}

  private enum Init {
    ZEROS,
    ONES,
    NORMAL,
    RESIDUAL
  }

  private Gpt(GptConfig config, long seed, ComputeDevice device, DataType dataType) {
    if (dataType != DataType.FLOAT32 && dataType != DataType.FLOAT64) {
      throw new IllegalArgumentException("Gpt parameters are float32 or float64, not " + dataType);
    }
    this.config = config;
    this.dataType = dataType;
    this.manager = NDManager.newBaseManager(device.toDjl(), "PyTorch");
    var rng = new Random(seed);
    int d = config.dModel();
    tokenEmbedding = parameter("tok_emb", rng, Init.NORMAL, config.vocabSize(), d);
    positionEmbedding = parameter("pos_emb", rng, Init.NORMAL, config.contextLength(), d);
    blocks = new Block[config.layers()];
    for (int l = 0; l < blocks.length; l++) {
      String p = "h." + l + ".";
      blocks[l] =
          new Block(
              parameter(p + "ln1.weight", rng, Init.ONES, d),
              parameter(p + "ln1.bias", rng, Init.ZEROS, d),
              parameter(p + "attn.qkv.weight", rng, Init.NORMAL, 3L * d, d),
              parameter(p + "attn.qkv.bias", rng, Init.ZEROS, 3L * d),
              parameter(p + "attn.proj.weight", rng, Init.RESIDUAL, d, d),
              parameter(p + "attn.proj.bias", rng, Init.ZEROS, d),
              parameter(p + "ln2.weight", rng, Init.ONES, d),
              parameter(p + "ln2.bias", rng, Init.ZEROS, d),
              parameter(p + "mlp.fc.weight", rng, Init.NORMAL, 4L * d, d),
              parameter(p + "mlp.fc.bias", rng, Init.ZEROS, 4L * d),
              parameter(p + "mlp.proj.weight", rng, Init.RESIDUAL, d, 4L * d),
              parameter(p + "mlp.proj.bias", rng, Init.ZEROS, d));
    }
    finalNormWeight = parameter("ln_f.weight", rng, Init.ONES, d);
    finalNormBias = parameter("ln_f.bias", rng, Init.ZEROS, d);
    scalarHeadWeight = parameter(SCALAR_HEAD + "weight", rng, Init.NORMAL, 1, d);
    scalarHeadBias = parameter(SCALAR_HEAD + "bias", rng, Init.ZEROS, 1);
    attentionScale = converted(manager.create(1.0 / Math.sqrt(config.headDim())));
    var bias = new float[config.vocabSize()];
    for (int token = ByteTokenizer.PAD; token < bias.length; token++) bias[token] = NEVER_EMITTED;
    outputBias = converted(manager.create(bias));
    snapshots = new ParameterSnapshots(parameters, dataType, manager);
  }

  /** A freshly initialised float32 model on this process's device (the CPU unless chosen). */
  public static Gpt create(GptConfig config, long seed) {
    return create(config, seed, ComputeDevice.forModels(), DataType.FLOAT32);
  }

  /** A freshly initialised model; float64 exists for gradient checks. */
  public static Gpt create(GptConfig config, long seed, ComputeDevice device, DataType dataType) {
    return new Gpt(config, seed, device, dataType);
  }

  /** A float32 model holding the weights of {@code snapshot}. */
  public static Gpt fromSnapshot(GptConfig config, WeightSnapshot snapshot, ComputeDevice device) {
    var model = create(config, 0, device, DataType.FLOAT32);
    model.load(snapshot);
    return model;
  }

  private NDArray parameter(String name, Random rng, Init init, long... dims) {
    var shape = new Shape(dims);
    int size = Math.toIntExact(shape.size());
    double std =
        switch (init) {
          case NORMAL -> INIT_STD;
          case RESIDUAL -> INIT_STD / Math.sqrt(2.0 * config.layers());
          default -> 0;
        };
    double[] values = new double[size];
    for (int i = 0; i < size; i++) {
      values[i] =
          switch (init) {
            case ZEROS -> 0;
            case ONES -> 1;
            case NORMAL, RESIDUAL -> rng.nextGaussian() * std;
          };
    }
    NDArray array = converted(manager.create(values, shape));
    array.setName(name);
    parameters.put(name, array);
    return array;
  }

  /**
   * A copy of {@code source} in the model's data type, in PyTorch's own memory; {@code source} is
   * freed at once instead of with the model. (A tensor DJL makes of Java values keeps a direct
   * buffer of them, JVM direct memory: at GPT-2 small's size the float64 values a loop's models
   * were drawn in alone filled the JVM's cap, and its actors failed to start.)
   */
  private NDArray converted(NDArray source) {
    try (source) {
      // toType to the type a tensor already has shares its storage, copy flag or not: duplicate
      return source.getDataType() == dataType ? source.duplicate() : source.toType(dataType, false);
    }
  }

  public GptConfig config() {
    return config;
  }

  /** Where the parameters live. */
  public ComputeDevice device() {
    return manager.getDevice().isGpu() ? ComputeDevice.GPU : ComputeDevice.CPU;
  }

  public DataType dataType() {
    return dataType;
  }

  /** The manager owning the parameters; a generation call opens its scope under it. */
  NDManager manager() {
    return manager;
  }

  /** Every parameter by name, in a fixed order (embeddings, blocks, final norm, scalar head). */
  public Map<String, NDArray> parameters() {
    return Collections.unmodifiableMap(parameters);
  }

  public long parameterCount() {
    return parameters.values().stream().mapToLong(p -> p.getShape().size()).sum();
  }

  /** Makes every parameter a leaf that accumulates gradients (for the model being trained). */
  public void requireGradients() {
    parameters.values().forEach(p -> p.setRequiresGradient(true));
  }

  /** Clears accumulated gradients; PyTorch adds each backward pass onto the last. */
  public void zeroGradients() {
    parameters.values().forEach(p -> JniUtils.zeroGrad(pt(p)));
  }

  // ---------------------------------------------------------------- forward

  /** Everything a forward pass over a padded batch produces. */
  public record Output(NDArray logits, NDArray values, NDArray hidden) {}

  /**
   * Forward pass over a padded batch.
   *
   * @param tokens int64 (or int32) token ids [B, T]
   * @param mask [B, T], nonzero where the token is real; padding may sit on either side
   * @return logits [B, T, V], scalar-head values [B, T], final hidden states [B, T, d_model], all
   *     in the manager of {@code tokens}
   */
  public Output forward(NDArray tokens, NDArray mask) {
    var keyMask = mask.toType(DataType.BOOLEAN, false);
    long b = tokens.getShape().get(0);
    long t = tokens.getShape().get(1);
    var hidden =
        trunk(
            asInt64(tokens),
            positionsOf(keyMask),
            attentionBias(tokens.getManager(), keyMask, 0, t),
            null,
            0);
    return new Output(
        JniUtils.reshape(logits(hidden), new long[] {b, t, config.vocabSize()}),
        JniUtils.reshape(values(hidden), new long[] {b, t}),
        JniUtils.reshape(hidden, new long[] {b, t, config.dModel()}));
  }

  /**
   * Token embedding + position embedding, the blocks, and the final LayerNorm.
   *
   * <p>The residual stream is kept as one [B·T, d_model] matrix so that every Linear is a single
   * addmm with its bias fused in: on a 3-d input libtorch's C++ {@code linear} falls back to matmul
   * (a folding view) plus a separate bias add, and autograd then runs a View, an Mm and an Add
   * backward for each layer instead of one Addmm backward.
   *
   * @param attentionBias [B, 1, T, S]: 0 where a query may attend, {@link #MASKED} elsewhere
   * @param cache when present, this call's keys and values are written at slots [firstSlot,
   *     firstSlot + T) and attention runs over all S cached slots
   * @return the final hidden states, [B·T, d_model] (row b·T + t is token t of row b)
   */
  PtNDArray trunk(
      NDArray tokens, NDArray positions, NDArray attentionBias, KvCache cache, long firstSlot) {
    long b = tokens.getShape().get(0);
    long t = tokens.getShape().get(1);
    var x =
        JniUtils.reshape(
            JniUtils.add(embed(tokens, tokenEmbedding), embed(positions, positionEmbedding)),
            new long[] {b * t, config.dModel()});
    for (int l = 0; l < blocks.length; l++) {
      var block = blocks[l];
      var attended =
          attention(
              layerNorm(x, block.norm1Weight, block.norm1Bias),
              b,
              t,
              block,
              l,
              attentionBias,
              cache,
              firstSlot);
      x = JniUtils.add(x, attended);
      var h = layerNorm(x, block.norm2Weight, block.norm2Bias);
      var mlp =
          linear(
              JniUtils.gelu(linear(h, block.fcWeight, block.fcBias)),
              block.mlpProjWeight,
              block.mlpProjBias);
      x = JniUtils.add(x, mlp);
    }
    return layerNorm(x, finalNormWeight, finalNormBias);
  }

  /**
   * Causal multi-head self-attention (Vaswani et al. 2017, eq. 1) on pre-normalised input {@code h}
   * [B·T, d_model]; returns [B·T, d_model].
   */
  private PtNDArray attention(
      PtNDArray h,
      long b,
      long t,
      Block block,
      int layer,
      NDArray attentionBias,
      KvCache cache,
      long firstSlot) {
    int heads = config.heads();
    // One fused projection, then [B, T, 3H, hd] -> [B, 3H, T, hd] split into q, k, v [B, H, T, hd].
    var qkv = linear(h, block.qkvWeight, block.qkvBias);
    // With one query per row (a decode step) [B, 1, 3H, hd] and [B, 3H, 1, hd] share one memory
    // layout, so the transposes on the way in and out are skipped: two native calls per layer.
    qkv =
        t == 1
            ? JniUtils.reshape(qkv, new long[] {b, 3L * heads, 1, config.headDim()})
            : JniUtils.transpose(
                JniUtils.reshape(qkv, new long[] {b, t, 3L * heads, config.headDim()}), 1, 2);
    NDList qkvParts = JniUtils.split(qkv, heads, 1);
    var q = pt(qkvParts.get(0));
    var k = pt(qkvParts.get(1));
    var v = pt(qkvParts.get(2));
    if (cache != null) {
      cache.write(layer, k, v, firstSlot);
      k = cache.keys(layer);
      v = cache.values(layer);
    }
    var scores = JniUtils.matmul(JniUtils.mul(q, pt(attentionScale)), JniUtils.transpose(k, 2, 3));
    var weights = JniUtils.softmax(JniUtils.add(scores, pt(attentionBias)), -1, dataType);
    var y = JniUtils.matmul(weights, v);
    y =
        JniUtils.reshape(
            t == 1 ? y : JniUtils.transpose(y, 1, 2), new long[] {b * t, config.dModel()});
    return linear(y, block.attnProjWeight, block.attnProjBias);
  }

  /** Logits from the tied token embedding: hidden · tok_embᵀ, [N, V] for hidden [N, d_model]. */
  PtNDArray logits(NDArray hidden) {
    return JniUtils.linear(pt(hidden), pt(tokenEmbedding), pt(outputBias));
  }

  /** The scalar head: one number per row of {@code hidden} [N, d_model], as [N, 1]. */
  private PtNDArray values(NDArray hidden) {
    return JniUtils.linear(pt(hidden), pt(scalarHeadWeight), pt(scalarHeadBias));
  }

  /** Position of each token = real tokens before it in its row; padding gets position 0. */
  static NDArray positionsOf(NDArray keyMask) {
    return keyMask.toType(DataType.INT64, false).cumSum(1).sub(1).clip(0, Long.MAX_VALUE);
  }

  /**
   * The additive attention bias [B, 1, T, S] for queries at slots firstQuerySlot .. +T−1 over key
   * slots 0 .. S−1: a query sees key slot j iff j ≤ its own slot (causality, from arange
   * comparisons) and key j is a real token (the key-padding mask).
   */
  NDArray attentionBias(NDManager m, NDArray keyMask, long firstQuerySlot, long queries) {
    long b = keyMask.getShape().get(0);
    long s = keyMask.getShape().get(1);
    var querySlots =
        m.arange((int) firstQuerySlot, (int) (firstQuerySlot + queries), 1, DataType.INT64)
            .reshape(queries, 1);
    var keySlots = m.arange(0, (int) s, 1, DataType.INT64).reshape(1, s);
    var realKeys = keyMask.reshape(b, 1, 1, s);
    realKeys.attach(m);
    var allowed = keySlots.lte(querySlots).logicalAnd(realKeys);
    // allowed -> 0, forbidden -> MASKED
    return allowed.toType(dataType, false).sub(1).mul(-MASKED);
  }

  private PtNDArray embed(NDArray ids, NDArray table) {
    return JniUtils.embedding(pt(ids), pt(table), false);
  }

  private PtNDArray layerNorm(PtNDArray x, NDArray weight, NDArray bias) {
    return JniUtils.layerNorm(x, new Shape(config.dModel()), pt(weight), pt(bias), LAYER_NORM_EPS);
  }

  private static PtNDArray linear(PtNDArray x, NDArray weight, NDArray bias) {
    return JniUtils.linear(x, pt(weight), pt(bias));
  }

  static PtNDArray pt(NDArray array) {
    return (PtNDArray) array;
  }

  private static NDArray asInt64(NDArray tokens) {
    return tokens.getDataType() == DataType.INT64 ? tokens : tokens.toType(DataType.INT64, false);
  }

  // ---------------------------------------------------------------- scoring

  /**
   * Per-token quantities of given responses after given prompts.
   *
   * @param logProbs [B, R] log π(response token | prompt, earlier response tokens), under
   *     softmax(logits / temperature) over the whole vocabulary
   * @param entropy [B, R] entropy of that same distribution at each response position
   * @param values [B, R] scalar head at the position that predicts each response token (the value
   *     of the state before the action, as PPO's V(s_t))
   * @param mask [B, R] float32, 1 on real response tokens and 0 on padding
   */
  public record TokenScores(NDArray logProbs, NDArray entropy, NDArray values, NDArray mask) {}

  /**
   * Log-probs, entropy and values of {@code batch}'s responses. Records the autograd graph when the
   * calling thread's grad mode is on (inside a GradientCollector) and the parameters require
   * gradients; otherwise a plain inference pass. Results live in the batch's manager.
   */
  public TokenScores score(ScoringBatch batch, float temperature) {
    if (!(temperature > 0)) {
      throw new IllegalArgumentException("temperature must be positive, got " + temperature);
    }
    long b = batch.batchSize();
    int r = batch.responseWidth();
    var predicting = predictingRows(forwardHidden(batch), batch);
    NDArray logits = logits(predicting);
    if (temperature != 1f) {
      logits = Scalars.dividedBy(logits, temperature);
    }
    var logProbsAll = logits.logSoftmax(-1);
    var logProbs = responseTokenLogProbs(logProbsAll, batch);
    var entropy = logProbsAll.exp().mul(logProbsAll).sum(new int[] {-1}).neg().reshape(b, r);
    return new TokenScores(
        logProbs,
        entropy,
        JniUtils.reshape(values(predicting), new long[] {b, r}),
        batch.responseMask());
  }

  /**
   * The reward model's score of each prompt + response, [B]: the scalar head at the last real
   * token, r_θ(x, y) of InstructGPT §3.5. Follows the thread's grad mode like {@link #score}.
   */
  public NDArray rewardScores(ScoringBatch batch) {
    long b = batch.batchSize();
    long t = batch.tokens().getShape().get(1);
    var hidden = forwardHidden(batch);
    return JniUtils.reshape(values(hidden), new long[] {b, t})
        .gather(batch.lastTokenIndex(), 1)
        .squeeze(-1);
  }

  /**
   * log π(response | prompt) of each row, summed over the response's tokens, at temperature 1: [B].
   */
  public NDArray sequenceLogLikelihood(ScoringBatch batch) {
    return sequenceLogLikelihood(score(batch, 1f));
  }

  /** The same from token scores already computed at temperature 1: the masked sum per row, [B]. */
  public static NDArray sequenceLogLikelihood(TokenScores atTemperatureOne) {
    return atTemperatureOne
        .logProbs()
        .mul(atTemperatureOne.mask().toType(atTemperatureOne.logProbs().getDataType(), false))
        .sum(new int[] {1});
  }

  /**
   * The rows of {@code hidden} [B·(P+R), d_model] at the positions that predict the response tokens
   * (position P-1+j predicts token j), as one [B·R, d_model] matrix for the heads.
   */
  private PtNDArray predictingRows(PtNDArray hidden, ScoringBatch batch) {
    long b = batch.batchSize();
    int p = batch.promptWidth();
    int r = batch.responseWidth();
    var perRow = JniUtils.reshape(hidden, new long[] {b, p + r, config.dModel()});
    return JniUtils.reshape(
        JniUtils.slice(perRow, 1, p - 1, p - 1 + r, 1), new long[] {b * r, config.dModel()});
  }

  /**
   * log p of each response token from {@code logProbsAll} [B·R, V] at its predicting row, [B, R].
   */
  private static NDArray responseTokenLogProbs(NDArray logProbsAll, ScoringBatch batch) {
    long b = batch.batchSize();
    int r = batch.responseWidth();
    return logProbsAll.gather(batch.responseTokens().reshape(b * r, 1), -1).reshape(b, r);
  }

  /** The final hidden states of {@code batch}, [B·T, d_model]. */
  private PtNDArray forwardHidden(ScoringBatch batch) {
    var keyMask = batch.mask();
    long t = batch.tokens().getShape().get(1);
    return trunk(
        batch.tokens(),
        positionsOf(keyMask),
        attentionBias(keyMask.getManager(), keyMask, 0, t),
        null,
        0);
  }

  /**
   * Sets the scalar head to 0 in place: a model fine-tuned only through its logits (SFT) carries an
   * untrained head, and both PPO's value head and the reward model's head start from 0.
   */
  public void zeroScalarHead() {
    withoutGradient(
        () -> {
          for (var entry : parameters().entrySet()) {
            if (entry.getKey().startsWith(SCALAR_HEAD)) {
              entry.getValue().muli(0f);
            }
          }
          return null;
        });
  }

  /** Runs {@code work} with the thread's grad mode off, restoring it afterwards. */
  public static <T> T withoutGradient(Supplier<T> work) {
    Engine.getEngine("PyTorch"); // loads the native library on first use: JniUtils needs it
    boolean previous = JniUtils.isGradMode();
    JniUtils.setGradMode(false);
    try {
      return work.get();
    } finally {
      JniUtils.setGradMode(previous);
    }
  }

  /**
   * For threads that only ever infer (actors): PyTorch's grad mode is per thread and on by default.
   */
  public static void inferenceOnlyThread() {
    Engine.getEngine("PyTorch"); // loads the native library on first use: JniUtils needs it
    JniUtils.setGradMode(false);
  }

  /** The intra-op threads this thread's PyTorch ops run on. */
  public static int intraOpThreads() {
    Engine.getEngine("PyTorch");
    return JniUtils.getNumThreads();
  }

  /**
   * Runs this thread's PyTorch ops on {@code threads} intra-op threads. PyTorch keeps the count per
   * thread (OpenMP's ICV, MKL's thread-local setting); the call also sets the count that threads
   * which have not run an op yet start with.
   */
  public static void intraOpThreads(int threads) {
    if (threads < 1) throw new IllegalArgumentException("threads must be >= 1, got " + threads);
    Engine.getEngine("PyTorch");
    JniUtils.setNumThreads(threads);
  }

  // ---------------------------------------------------------------- weights

  /** All parameters, safetensors-encoded, stamped with {@code version} and a SHA-256 checksum. */
  public WeightSnapshot snapshot(long version) {
    return withoutGradient(() -> snapshots.encode(version));
  }

  /** Copies {@code snapshot}'s weights into this model in place (shapes must match the config). */
  public void load(WeightSnapshot snapshot) {
    snapshots.load(snapshot);
  }

  @Override
  public void close() {
    manager.close();
  }
}
