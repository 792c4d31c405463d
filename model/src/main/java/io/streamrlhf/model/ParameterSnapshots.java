package io.streamrlhf.model;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Map;

/**
 * A {@link Gpt}'s parameters to and from {@link WeightSnapshot}s: all of them encoded into one
 * safetensors payload by name (what a checkpoint stores and the learner publishes), and a payload
 * copied back into the live tensors in place (what an actor does with each new policy version).
 */
final class ParameterSnapshots {
  private final Map<String, NDArray> parameters;
  private final DataType dataType;
  private final NDManager manager;

  /**
   * Reused across loads (an actor loads every policy version the learner publishes); after the
   * first, the parameters are views of it. Direct memory, capped by the JVM (the launcher lifts the
   * cap to the machine's memory).
   */
  private ByteBuffer loadBuffer;

  /**
   * @param parameters the model's parameters by name, in its fixed order
   */
  ParameterSnapshots(Map<String, NDArray> parameters, DataType dataType, NDManager manager) {
    this.parameters = parameters;
    this.dataType = dataType;
    this.manager = manager;
  }

  /**
   * All parameters as one float32 safetensors payload stamped {@code version}; call without
   * gradient.
   */
  WeightSnapshot encode(long version) {
    return new WeightSnapshot(version, SafetensorsLayout.encode(parameters));
  }

  /**
   * Copies {@code snapshot}'s weights into the parameters in place (shapes must match).
   *
   * <p>float32 on a little-endian host (every CPU we run on): the payload is copied once into a
   * reused direct buffer, and each parameter becomes a view of its slice (DJL's {@code set} of a
   * direct buffer on the CPU points the tensor at the buffer rather than copying it), so the buffer
   * is the model's storage from then on: one per model, never shared, and the next load rewrites
   * every parameter at once. Decoding to temporary tensors first and reading them back would copy
   * five times. Other data types take the general path.
   */
  void load(WeightSnapshot snapshot) {
    if (dataType == DataType.FLOAT32 && ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN) {
      loadFloat32(snapshot);
    } else {
      loadDecoded(snapshot);
    }
  }

  private void loadFloat32(WeightSnapshot snapshot) {
    var payload = snapshot.safetensors();
    var layout = SafetensorsLayout.parse(payload);
    if (layout.entries().size() != parameters.size()) {
      throw new IllegalArgumentException(
          "weight snapshot v"
              + snapshot.version()
              + " holds "
              + layout.entries().size()
              + " tensors, this model has "
              + parameters.size()
              + " parameters");
    }
    // check every tensor before touching any parameter: a misfit snapshot leaves the model as it
    // was
    for (var entry : parameters.entrySet()) {
      var source = layout.entries().get(entry.getKey());
      var expected = entry.getValue().getShape();
      if (source == null
          || !new Shape(source.shape()).equals(expected)
          || !source.dtype().equals("F32")
          || source.to() - source.from() != expected.size() * Float.BYTES) {
        throw new IllegalArgumentException(
            "weight snapshot v"
                + snapshot.version()
                + " does not fit this model: parameter "
                + entry.getKey()
                + " is "
                + (source == null ? "missing" : source.dtype() + " " + new Shape(source.shape()))
                + ", expected F32 "
                + expected);
      }
    }
    int bytes = payload.length - layout.dataStart();
    if (loadBuffer == null || loadBuffer.capacity() < bytes) {
      loadBuffer = ByteBuffer.allocateDirect(bytes).order(ByteOrder.nativeOrder());
    }
    loadBuffer.clear();
    loadBuffer.put(payload, layout.dataStart(), bytes);
    for (var entry : parameters.entrySet()) {
      var source = layout.entries().get(entry.getKey());
      var slice =
          loadBuffer
              .slice(source.from() - layout.dataStart(), source.to() - source.from())
              .order(ByteOrder.nativeOrder());
      entry.getValue().set(slice);
    }
  }

  private void loadDecoded(WeightSnapshot snapshot) {
    try (NDManager scope = manager.newSubManager()) {
      var decoded = NDList.decode(scope, snapshot.safetensors());
      if (decoded.size() != parameters.size()) {
        throw new IllegalArgumentException(
            "weight snapshot v"
                + snapshot.version()
                + " holds "
                + decoded.size()
                + " tensors, this model has "
                + parameters.size()
                + " parameters");
      }
      for (var entry : parameters.entrySet()) {
        var source = decoded.get(entry.getKey());
        var target = entry.getValue();
        if (source == null || !source.getShape().equals(target.getShape())) {
          throw new IllegalArgumentException(
              "weight snapshot v"
                  + snapshot.version()
                  + " does not fit this model: parameter "
                  + entry.getKey()
                  + " is "
                  + (source == null ? "missing" : source.getShape())
                  + ", expected "
                  + target.getShape());
        }
        target.set(source.toType(dataType, false).toByteBuffer());
      }
    }
  }
}
