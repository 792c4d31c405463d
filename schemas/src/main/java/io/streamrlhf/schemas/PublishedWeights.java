package io.streamrlhf.schemas;

import java.time.Instant;
import java.util.Map;
import java.util.Objects;

/**
 * One model version's weights as they travel on a weight topic: a byte blob and the meta a reader
 * needs to load it. What a publisher splits into {@link WeightChunk}s and what {@link
 * WeightAssembler} hands back once every chunk arrived and the SHA-256 matched. The bytes are
 * opaque here; the model module owns their format (its {@code WeightSnapshot}, the named tensors).
 *
 * @param bytes the serialized weights (not copied: do not modify after handing over)
 * @param meta facts a reader needs to load the bytes (e.g. {@link #META_MODEL_CONFIG})
 * @param publishedAt when the publisher started sending this version
 */
public record PublishedWeights(
    WeightModel model, long version, byte[] bytes, Map<String, String> meta, Instant publishedAt) {
  /**
   * Meta key holding the model's config as JSON (model's {@code GptConfig}): what a reader without
   * the model yet needs to build it before it loads the bytes.
   */
  public static final String META_MODEL_CONFIG = "model_config";

  /**
   * Meta keys of a reward model's weights: the mean and standard deviation of its raw score on SFT
   * samples (PPO normalises rewards with the statistics of the version that scored them), and the
   * weight w of log π_SFT(y|x) in its score (head + w·log π_SFT), each a decimal number as text.
   */
  public static final String META_REWARD_MEAN = "reward_mean";

  public static final String META_REWARD_STD = "reward_std";
  public static final String META_LIKELIHOOD_WEIGHT = "likelihood_weight";

  /**
   * The run of the learner or reward trainer that published the version, which a resume checks is
   * its own before it fences whoever publishes.
   */
  public static final String META_RUN = "run";

  /**
   * Meta keys of a policy version: how the learner's rollouts must be scored, its reward source
   * ({@code model}, {@code oracle}, {@code live}) and the SHA-256 (hex) of the weights of the
   * frozen models it trains with, its SFT reference and (reward source {@code model}) its reward
   * model. An actor scoring otherwise would add another reward, or another model's log-probs or
   * scores, to every rollout, which the learner cannot tell from its own: the actor refuses the
   * version instead.
   */
  public static final String META_REWARD_SOURCE = "reward_source";

  public static final String META_REFERENCE_SHA256 = "reference_weights_sha256";

  public static final String META_REWARD_MODEL_SHA256 = "reward_model_weights_sha256";

  /**
   * Meta keys of a policy version: how the learner's rollouts must be sampled, its {@code
   * responses_per_prompt} and {@code sampling_temperature} (its config's keys), which an actor's
   * must equal too.
   */
  public static final String META_RESPONSES_PER_PROMPT = "responses_per_prompt";

  public static final String META_SAMPLING_TEMPERATURE = "sampling_temperature";

  /** {@link #META_RESPONSES_PER_PROMPT} and {@link #META_SAMPLING_TEMPERATURE}. */
  public static final java.util.List<String> META_SAMPLING =
      java.util.List.of(META_RESPONSES_PER_PROMPT, META_SAMPLING_TEMPERATURE);

  /**
   * Meta keys of a signed version ({@code schemas.signing}): the publisher's Ed25519 signature over
   * (model, version, SHA-256 of the bytes, every other meta entry), base64; and the id of the key
   * that made it, so a reader that rejects a version can say whose it was.
   */
  public static final String META_SIGNATURE = "signature";

  public static final String META_SIGNING_KEY = "signing_key";

  public PublishedWeights {
    Objects.requireNonNull(model, "model");
    Objects.requireNonNull(bytes, "bytes");
    Objects.requireNonNull(publishedAt, "publishedAt");
    if (version < 0) {
      throw new IllegalArgumentException("weight versions start at 0, got " + version);
    }
    meta = Map.copyOf(meta);
  }

  @Override
  public String toString() {
    return "PublishedWeights["
        + model
        + " v"
        + version
        + ", "
        + bytes.length
        + " bytes, meta="
        + meta
        + "]";
  }
}
