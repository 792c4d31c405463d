package io.streamrlhf.schemas.signing;

import io.streamrlhf.schemas.WeightModel;
import java.security.PublicKey;
import java.util.EnumMap;
import java.util.Map;
import java.util.Optional;

/**
 * The publishers' public keys a reader trusts, one per weight topic: the learner's for policies,
 * the reward trainer's for reward models. A topic without a key is read unchecked.
 */
public record TrustedWeightKeys(Map<WeightModel, PublicKey> keys) {
  public TrustedWeightKeys {
    keys = Map.copyOf(keys);
  }

  /** No key: every version is applied unchecked (the loop's behaviour before signing). */
  public static TrustedWeightKeys none() {
    return new TrustedWeightKeys(Map.of());
  }

  /** These keys, and {@code key} for {@code model}'s versions. */
  public TrustedWeightKeys with(WeightModel model, PublicKey key) {
    var more = new EnumMap<WeightModel, PublicKey>(WeightModel.class);
    more.putAll(keys);
    more.put(model, key);
    return new TrustedWeightKeys(more);
  }

  public Optional<PublicKey> of(WeightModel model) {
    return Optional.ofNullable(keys.get(model));
  }

  /** A fresh verifier for one reader of {@code model}'s topic. */
  public WeightVerifier verifier(WeightModel model) {
    return of(model).map(WeightVerifier::trusting).orElseGet(WeightVerifier::acceptingUnsigned);
  }

  /** Names the keys by id. */
  @Override
  public String toString() {
    var ids = new EnumMap<WeightModel, String>(WeightModel.class);
    keys.forEach((m, k) -> ids.put(m, WeightSignature.keyId(k)));
    return "TrustedWeightKeys" + ids;
  }
}
