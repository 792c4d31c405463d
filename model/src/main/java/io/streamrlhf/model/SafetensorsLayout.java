package io.streamrlhf.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Where each tensor of a safetensors payload lies (https://github.com/huggingface/safetensors: an
 * 8-byte little-endian header length, a JSON header mapping names to dtype, shape and {@code
 * data_offsets} relative to the data section, then the data), so weights can be copied from the
 * payload into live parameters without decoding them into temporary tensors first.
 */
record SafetensorsLayout(Map<String, Entry> entries, int dataStart) {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** One tensor: safetensors dtype (e.g. F32), shape, and byte range within the payload. */
  record Entry(String dtype, long[] shape, int from, int to) {}

  /**
   * The tensors as one float32 safetensors payload, in map order: what a weight snapshot or the
   * optimizer state travels and is checkpointed as. On a little-endian host (every CPU we run on)
   * the bytes are written straight into one array of the exact size (DJL's {@code NDList.encode}
   * grows a stream by doubling and copies it out again: three times the bytes for a 13 MB model),
   * the header padded with spaces to 8 bytes as the format allows; elsewhere {@code NDList.encode}
   * of float32 copies. Leaves the tensors as they are; call without gradient.
   */
  static byte[] encode(Map<String, NDArray> tensors) {
    if (ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN) {
      return write(tensors);
    }
    try (var list = new NDList()) {
      // copies: the list's close() must not free the caller's tensors
      for (var entry : tensors.entrySet()) {
        var copy = entry.getValue().toType(DataType.FLOAT32, true);
        copy.setName(entry.getKey());
        list.add(copy);
      }
      return list.encode(NDList.Encoding.SAFETENSORS);
    }
  }

  private static byte[] write(Map<String, NDArray> tensors) {
    var shapes = new LinkedHashMap<String, long[]>();
    tensors.forEach((name, tensor) -> shapes.put(name, tensor.getShape().getShape()));
    var buffer = float32(shapes, null);
    for (var tensor : tensors.values()) {
      if (tensor.getDataType() == DataType.FLOAT32) {
        buffer.put(tensor.toByteBuffer());
      } else {
        try (var copy = tensor.toType(DataType.FLOAT32, true)) {
          buffer.put(copy.toByteBuffer());
        }
      }
    }
    return buffer.array();
  }

  /**
   * A little-endian buffer of the exact size of a float32 safetensors payload holding tensors of
   * {@code shapes} (in map order), its header written and padded with spaces to 8 bytes as the
   * format allows, positioned where the data begins: the caller puts the tensors' values there in
   * the same order.
   *
   * @param metadata the header's {@code __metadata__}, or null for none
   */
  static ByteBuffer float32(Map<String, long[]> shapes, Map<String, String> metadata) {
    var header = new LinkedHashMap<String, Object>();
    if (metadata != null) header.put("__metadata__", metadata);
    long offset = 0;
    for (var entry : shapes.entrySet()) {
      long bytes = Float.BYTES;
      for (long dim : entry.getValue()) bytes *= dim;
      // ordered as Hugging Face writes them, and the same in every JVM: a Map.of iterates in an
      // order each JVM draws afresh, which made two checkpoints of the same weights differ
      var tensor = new LinkedHashMap<String, Object>();
      tensor.put("dtype", "F32");
      tensor.put("shape", entry.getValue());
      tensor.put("data_offsets", List.of(offset, offset + bytes));
      header.put(entry.getKey(), tensor);
      offset += bytes;
    }
    byte[] json;
    try {
      json = JSON.writeValueAsBytes(header);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    int padded = (json.length + 7) / 8 * 8;
    long total = Long.BYTES + padded + offset;
    if (total > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException(
          "weights of " + total + " bytes do not fit one Java array");
    }
    var buffer = ByteBuffer.allocate((int) total).order(ByteOrder.LITTLE_ENDIAN);
    buffer.putLong(padded).put(json);
    while (buffer.position() < Long.BYTES + padded) buffer.put((byte) ' ');
    return buffer;
  }

  static SafetensorsLayout parse(byte[] payload) {
    return parse(ByteBuffer.wrap(payload));
  }

  /**
   * The layout of the payload in {@code payload}'s whole capacity (an array, or a file mapped into
   * memory); positions are from its start.
   */
  static SafetensorsLayout parse(ByteBuffer payload) {
    int size = payload.capacity();
    if (size < Long.BYTES) {
      throw new IllegalArgumentException("not safetensors: " + size + " bytes");
    }
    long headerLength = payload.duplicate().order(ByteOrder.LITTLE_ENDIAN).getLong(0);
    if (headerLength < 2 || headerLength > size - Long.BYTES) {
      throw new IllegalArgumentException(
          "not safetensors: header length " + headerLength + " in " + size + " bytes");
    }
    int dataStart = Long.BYTES + (int) headerLength;
    var headerBytes = new byte[(int) headerLength];
    payload.duplicate().position(Long.BYTES).get(headerBytes);
    JsonNode header;
    try {
      header = JSON.readTree(new String(headerBytes, StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new IllegalArgumentException("not safetensors: its header is not JSON", e);
    }
    var entries = new HashMap<String, Entry>();
    var names = header.fieldNames();
    while (names.hasNext()) {
      var name = names.next();
      if (name.equals("__metadata__")) continue;
      var node = header.get(name);
      var shapeNode = node.path("shape");
      var shape = new long[shapeNode.size()];
      for (int i = 0; i < shape.length; i++) shape[i] = shapeNode.get(i).asLong();
      long from = dataStart + node.path("data_offsets").path(0).asLong(-1);
      long to = dataStart + node.path("data_offsets").path(1).asLong(-1);
      if (from < dataStart || to < from || to > size) {
        throw new IllegalArgumentException(
            "safetensors tensor " + name + " lies outside the payload");
      }
      entries.put(name, new Entry(node.path("dtype").asText(), shape, (int) from, (int) to));
    }
    return new SafetensorsLayout(Map.copyOf(entries), dataStart);
  }
}
