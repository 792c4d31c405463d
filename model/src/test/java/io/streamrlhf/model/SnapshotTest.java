package io.streamrlhf.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDManager;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.nio.channels.Channels;
import java.nio.channels.ReadableByteChannel;
import java.util.List;
import org.junit.jupiter.api.Test;

class SnapshotTest {

  private static final GptConfig SHAPE = new GptConfig(ByteTokenizer.VOCAB_SIZE, 24, 16, 2, 2);
  private static final List<int[]> PROMPTS =
      List.of(ByteTokenizer.encode("snap"), ByteTokenizer.encode("x"));
  private static final List<int[]> RESPONSES =
      List.of(ByteTokenizer.encode("shot"), ByteTokenizer.encode("yz"));

  private static float[] logits(Gpt model) {
    try (NDManager m = NDManager.newBaseManager()) {
      var batch = ScoringBatch.of(m, PROMPTS, RESPONSES);
      return Gpt.withoutGradient(
          () -> model.forward(batch.tokens(), batch.mask()).logits().toFloatArray());
    }
  }

  @Test
  void snapshotRoundTripGivesIdenticalOutputs() {
    try (var source = Gpt.create(SHAPE, 1);
        var target = Gpt.create(SHAPE, 2)) {
      assertThat(logits(target)).isNotEqualTo(logits(source));
      byte[] bytes = source.snapshot(42).encode();
      var decoded = WeightSnapshot.decode(bytes);
      target.load(decoded);
      assertThat(decoded.version()).isEqualTo(42);
      assertThat(logits(target)).isEqualTo(logits(source));
      assertThat(
              new Generator(target)
                  .generate(PROMPTS, new Generator.Sampling(5, 1f, 0, 9))
                  .get(0)
                  .tokens())
          .isEqualTo(
              new Generator(source)
                  .generate(PROMPTS, new Generator.Sampling(5, 1f, 0, 9))
                  .get(0)
                  .tokens());
    }
  }

  @Test
  void aNewModelHoldsItsParametersNotTheValuesTheyWereDrawnFrom() {
    // Each parameter is drawn as float64 values; the tensor made of them stayed attached to the
    // model beside its float32 copy, twice the model's size again in JVM direct memory, which a
    // loop of GPT-2-sized models ran out of.
    try (var model = Gpt.create(SHAPE, 1)) {
      var held = ((ai.djl.ndarray.BaseNDManager) model.manager()).getManagedArrays();
      assertThat(held).noneMatch(a -> a.getDataType() == ai.djl.ndarray.types.DataType.FLOAT64);
      long elements = held.stream().mapToLong(a -> a.getShape().size()).sum();
      // the parameters, the output bias over the vocabulary and the attention scale
      assertThat(elements).isEqualTo(model.parameterCount() + SHAPE.vocabSize() + 1);
    }
  }

  @Test
  void theSafetensorsHeaderIsWrittenInOneFixedOrder() {
    // Every JVM iterates Map.of in an order of its own: the header must not depend on it, or two
    // checkpoints of the same weights differ byte for byte.
    try (NDManager m = NDManager.newBaseManager()) {
      var tensors = new java.util.LinkedHashMap<String, ai.djl.ndarray.NDArray>();
      tensors.put("b", m.create(new float[] {1, 2}));
      tensors.put("a", m.create(new float[] {3}));
      byte[] bytes = SafetensorsLayout.encode(tensors);
      int headerLength =
          (int) java.nio.ByteBuffer.wrap(bytes).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong();
      String header =
          new String(bytes, Long.BYTES, headerLength, java.nio.charset.StandardCharsets.UTF_8)
              .strip();
      assertThat(header)
          .isEqualTo(
              "{\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                  + "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}");
    }
  }

  @Test
  void corruptedByteFailsTheChecksum() {
    try (var model = Gpt.create(SHAPE, 1)) {
      byte[] bytes = model.snapshot(3).encode();
      for (int position : new int[] {bytes.length / 2, bytes.length - 1, 10 /* in the version */}) {
        byte[] corrupted = bytes.clone();
        corrupted[position] ^= 0x01;
        assertThatThrownBy(() -> WeightSnapshot.decode(corrupted))
            .isInstanceOf(IllegalArgumentException.class)
            .hasMessageContaining("is corrupt: SHA-256");
      }
      assertThatThrownBy(() -> WeightSnapshot.decode(new byte[] {1, 2, 3}))
          .hasMessageContaining("not a streamrlhf weight snapshot");
    }
  }

  @Test
  void snapshotOfAnotherShapeIsRefusedByName() {
    try (var small = Gpt.create(SHAPE, 1);
        var wider = Gpt.create(new GptConfig(ByteTokenizer.VOCAB_SIZE, 24, 32, 2, 2), 1)) {
      assertThatThrownBy(() -> wider.load(small.snapshot(1)))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("does not fit this model: parameter tok_emb");
    }
  }

  @Test
  void loadingAgainReplacesEveryWeightAndAMisfitLeavesTheModelAsItWas() {
    try (var a = Gpt.create(SHAPE, 1);
        var b = Gpt.create(SHAPE, 2);
        var target = Gpt.create(SHAPE, 3);
        var wider = Gpt.create(new GptConfig(ByteTokenizer.VOCAB_SIZE, 24, 32, 2, 2), 4)) {
      target.load(a.snapshot(1));
      target.load(b.snapshot(2)); // the second load reuses the first one's buffer
      assertThat(logits(target)).isEqualTo(logits(b));
      assertThatThrownBy(() -> target.load(wider.snapshot(3)))
          .isInstanceOf(IllegalArgumentException.class);
      assertThat(logits(target)).isEqualTo(logits(b));
    }
  }

  @Test
  void aFrameWrittenFromItsPayloadIsTheEncodedFrameAndReadsBackVerified() throws Exception {
    try (var model = Gpt.create(SHAPE, 1)) {
      var streamed = model.snapshot(5);
      var out = new ByteArrayOutputStream();
      byte[] sha = streamed.writeFrame(Channels.newChannel(out));
      var built = model.snapshot(5); // the same snapshot, framed whole
      assertThat(out.toByteArray()).isEqualTo(built.encode());
      assertThat(sha).isEqualTo(built.encodedSha256()).isEqualTo(streamed.encodedSha256());
      assertThat(streamed.frameBytes()).isEqualTo(out.size());
      // a built frame is written as it is
      var again = new ByteArrayOutputStream();
      assertThat(built.writeFrame(Channels.newChannel(again))).isEqualTo(sha);
      assertThat(again.toByteArray()).isEqualTo(out.toByteArray());

      byte[] frame = out.toByteArray();
      var read = WeightSnapshot.readFrame(channel(frame), frame.length);
      assertThat(read.version()).isEqualTo(5);
      assertThat(read.safetensors()).isEqualTo(streamed.safetensors());

      frame[frame.length / 2] ^= 0x01;
      assertThatThrownBy(() -> WeightSnapshot.readFrame(channel(frame), frame.length))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("is corrupt: SHA-256");
      assertThatThrownBy(() -> WeightSnapshot.readFrame(channel(frame), frame.length + 1))
          .isInstanceOf(EOFException.class)
          .hasMessageContaining("ends before its " + (frame.length + 1) + " bytes");
      assertThatThrownBy(() -> WeightSnapshot.readFrame(channel(new byte[3]), 3))
          .hasMessageContaining("not a streamrlhf weight snapshot");
      assertThatThrownBy(() -> WeightSnapshot.readFrame(channel(frame), 3L << 30))
          .hasMessageContaining("exceed the 2 GiB one Java array holds");
    }
  }

  private static ReadableByteChannel channel(byte[] bytes) {
    return Channels.newChannel(new ByteArrayInputStream(bytes));
  }

  @Test
  void aTransportVerifiedFrameDecodesToTheSameSnapshotWithoutHashingAgain() {
    try (var model = Gpt.create(SHAPE, 1)) {
      var snapshot = model.snapshot(7);
      var decoded = WeightSnapshot.decodeTransportVerified(snapshot.encode());
      assertThat(decoded.version()).isEqualTo(7);
      assertThat(decoded.safetensors()).isEqualTo(snapshot.safetensors());
      assertThatThrownBy(() -> WeightSnapshot.decodeTransportVerified(new byte[] {1, 2, 3}))
          .hasMessageContaining("not a streamrlhf weight snapshot");
    }
  }

  @Test
  void snapshotsAreSafetensorsThatDjlDecodesToTheSameTensors() {
    try (var model = Gpt.create(SHAPE, 1);
        NDManager m = NDManager.newBaseManager()) {
      var decoded = ai.djl.ndarray.NDList.decode(m, model.snapshot(1).safetensors());
      var again = ai.djl.ndarray.NDList.decode(m, model.snapshot(2).safetensors());
      assertThat(decoded.size()).isEqualTo(again.size()).isGreaterThan(10);
      for (var tensor : decoded) {
        var name = tensor.getName();
        assertThat(again.get(name).toFloatArray()).as(name).isEqualTo(tensor.toFloatArray());
        assertThat(tensor.getDataType()).isEqualTo(ai.djl.ndarray.types.DataType.FLOAT32);
      }
      assertThat(decoded.get("tok_emb").getShape().get(0)).isEqualTo(ByteTokenizer.VOCAB_SIZE);
    }
  }
}
