package io.streamrlhf.schemas;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Weight bytes in a store, a pointer on the topic: what a reader gets back, and what it refuses.
 */
class WeightStoreTest {
  private static final long MAX = 1 << 20;

  private static PublishedWeights weights(long version, int size) {
    var bytes = new byte[size];
    new Random(version).nextBytes(bytes);
    return new PublishedWeights(
        WeightModel.POLICY, version, bytes, Map.of("model_config", "{}"), Instant.ofEpochMilli(7));
  }

  private static PublishedWeights put(WeightStore store, PublishedWeights w) {
    return store.put(w, WeightChunker.sha256(w.bytes()));
  }

  @Test
  void aPointerCarriesNoBytesAndResolvesToExactlyThePublishedVersion(@TempDir Path dir) {
    var store = WeightStore.at(dir.resolve("store"));
    var published = weights(3, 70_001);
    var pointer = put(store, published);

    assertThat(pointer.bytes()).isEmpty();
    assertThat(WeightStore.isPointer(pointer)).isTrue();
    assertThat(WeightStore.isPointer(published)).isFalse();
    assertThat(pointer.meta())
        .containsEntry(WeightStore.META_BYTES, "70001")
        .containsEntry("model_config", "{}")
        .hasEntrySatisfying(
            WeightStore.META_OBJECT,
            o -> assertThat(o).matches("policy/v3-[0-9a-f]{16}\\.weights"));
    assertThat(pointer.version()).isEqualTo(3);
    assertThat(pointer.publishedAt()).isEqualTo(published.publishedAt());

    // another process mounting the same directory elsewhere resolves the same relative name
    var got = WeightStore.at(dir.resolve("store")).fetch(pointer, MAX);
    assertThat(got.bytes()).isEqualTo(published.bytes());
    assertThat(got.meta()).isEqualTo(published.meta());
    assertThat(got.version()).isEqualTo(3);
  }

  @Test
  void anObjectChangedAfterItsPointerWasMadeIsRefused(@TempDir Path dir) throws Exception {
    var store = WeightStore.at(dir);
    var pointer = put(store, weights(1, 5_000));
    var file = dir.resolve(pointer.meta().get(WeightStore.META_OBJECT));
    var bytes = Files.readAllBytes(file);
    bytes[4_321] ^= 1;
    Files.write(file, bytes);

    assertThatThrownBy(() -> store.fetch(pointer, MAX))
        .isInstanceOf(WeightStore.StoreException.class)
        .hasMessageContaining("SHA-256");
    Files.write(file, new byte[10]);
    assertThatThrownBy(() -> store.fetch(pointer, MAX))
        .hasMessageContaining("has 10 bytes, the pointer says 5000");
  }

  @Test
  void aPointerOutsideTheStoreOrToAMissingObjectOrTooLargeIsRefused(@TempDir Path dir)
      throws Exception {
    var store = WeightStore.at(dir.resolve("store"));
    var pointer = put(store, weights(1, 1_000));
    Files.writeString(dir.resolve("secret"), "x");

    for (var name :
        new String[] {
          "../secret", "policy/../../secret", "/etc/passwd", "reward/v1-0123456789abcdef.weights"
        }) {
      var meta = new HashMap<>(pointer.meta());
      meta.put(WeightStore.META_OBJECT, name);
      var forged = new PublishedWeights(WeightModel.POLICY, 1, new byte[0], meta, Instant.EPOCH);
      assertThatThrownBy(() -> store.fetch(forged, MAX))
          .as(name)
          .isInstanceOf(WeightStore.StoreException.class);
    }
    assertThatThrownBy(() -> store.fetch(pointer, 999)).hasMessageContaining("at most 999");
    Files.delete(dir.resolve("store").resolve(pointer.meta().get(WeightStore.META_OBJECT)));
    assertThatThrownBy(() -> store.fetch(pointer, MAX))
        .hasMessageContaining("is not in the weight store");
  }

  @Test
  void aPolicyPointerNamingAnExistingRewardObjectIsRefused(@TempDir Path dir) {
    // the forged name in the test above names no object, so it is refused as missing whether or
    // not the kind is checked; here the reward object exists and matches length and SHA-256
    var store = WeightStore.at(dir);
    var w = weights(1, 1_000);
    var reward =
        put(
            store,
            new PublishedWeights(WeightModel.REWARD, 1, w.bytes(), w.meta(), w.publishedAt()));
    var name = reward.meta().get(WeightStore.META_OBJECT);
    assertThat(name).startsWith("reward/v1-");
    var asPolicy =
        new PublishedWeights(WeightModel.POLICY, 1, new byte[0], reward.meta(), Instant.EPOCH);

    assertThatThrownBy(() -> store.fetch(asPolicy, MAX))
        .isInstanceOf(WeightStore.StoreException.class)
        .hasMessage("a POLICY pointer names " + name);
  }

  @Test
  void onlyTheNewestVersionsAreKept(@TempDir Path dir) throws Exception {
    var store = WeightStore.at(dir);
    PublishedWeights first = null;
    for (int v = 0; v < WeightStore.KEPT + 3; v++) {
      var pointer = put(store, weights(v, 100));
      if (v == 0) first = pointer;
    }
    try (Stream<Path> files = Files.list(dir.resolve("policy"))) {
      assertThat(files.map(p -> p.getFileName().toString()))
          .hasSize(WeightStore.KEPT)
          .allMatch(n -> Long.parseLong(n.substring(1, n.indexOf('-'))) >= 3);
    }
    var gone = first;
    assertThatThrownBy(() -> store.fetch(gone, MAX)).hasMessageContaining("pruned");
  }
}
