package io.streamrlhf.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;

/**
 * The keys and values of every layer for one generation call, preallocated [B, H, slots, hd] and
 * written in place, and the attention bias of every decode query, built once ([B, 1, new slots,
 * slots]) and sliced per step: a decode step is about a hundred native calls, so each one saved
 * shows. Rows that have finished sampling can be dropped ({@link #keep}). Lives in the generation
 * call's scope; {@link Gpt}'s attention writes and reads it.
 */
final class KvCache {
  private final PtNDArray[] keys;
  private final PtNDArray[] values;
  private PtNDArray decodeBias;
  private long batch;
  private final int heads;
  private final int headDim;

  /**
   * @param keyMask [B, slots], true on every slot a query may see (prompt tokens and generated
   *     slots)
   * @param promptWidth slots [0, promptWidth) hold the left-padded prompts; decode queries follow
   */
  KvCache(Gpt model, NDManager scope, NDArray keyMask, int promptWidth) {
    var config = model.config();
    long batch = keyMask.getShape().get(0);
    long slots = keyMask.getShape().get(1);
    this.batch = batch;
    this.heads = config.heads();
    this.headDim = config.headDim();
    this.decodeBias = Gpt.pt(model.attentionBias(scope, keyMask, promptWidth, slots - promptWidth));
    this.keys = new PtNDArray[config.layers()];
    this.values = new PtNDArray[config.layers()];
    var shape = new Shape(batch, heads, slots, headDim);
    for (int l = 0; l < keys.length; l++) {
      keys[l] = Gpt.pt(scope.zeros(shape, model.dataType()));
      values[l] = Gpt.pt(scope.zeros(shape, model.dataType()));
    }
  }

  /**
   * Stores one call's keys and values [B, H, T, hd] of {@code layer} at slots [firstSlot, firstSlot
   * + T).
   */
  void write(int layer, PtNDArray k, PtNDArray v, long firstSlot) {
    long t = k.getShape().get(2);
    long[] from = {0, 0, firstSlot, 0};
    long[] to = {batch, heads, firstSlot + t, headDim};
    long[] stride = {1, 1, 1, 1};
    JniUtils.indexSet(keys[layer], k, from, to, stride);
    JniUtils.indexSet(values[layer], v, from, to, stride);
  }

  /** Every slot's keys of {@code layer}, [B, H, slots, hd]. */
  PtNDArray keys(int layer) {
    return keys[layer];
  }

  /** Every slot's values of {@code layer}, [B, H, slots, hd]. */
  PtNDArray values(int layer) {
    return values[layer];
  }

  /**
   * Keeps only {@code rows} (indices into the current rows, ascending), in that order: the rows
   * still sampling once others have ended, so later steps compute nothing for finished rows. Copies
   * the cache once; the caller compacts when at most half the rows remain, so all compactions of a
   * call copy less than the cache again.
   */
  void keep(NDArray rows) {
    var index = new NDIndex("{}", rows);
    for (int l = 0; l < keys.length; l++) {
      keys[l] = replace(keys[l], index);
      values[l] = replace(values[l], index);
    }
    decodeBias = replace(decodeBias, index);
    batch = rows.getShape().get(0);
  }

  private static PtNDArray replace(PtNDArray old, NDIndex rows) {
    var kept = Gpt.pt(old.get(rows));
    old.close();
    return kept;
  }

  /**
   * The attention bias [B, 1, 1, slots] of the decode query {@code step} (slot promptWidth + step),
   * a view of the prebuilt bias; the caller attaches it to its step's scope.
   */
  PtNDArray decodeBias(long step) {
    return JniUtils.slice(decodeBias, 2, step, step + 1, 1);
  }
}
