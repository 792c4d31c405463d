package io.streamrlhf.jmh;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One layer's attention in a decode step, as Gpt runs it on its preallocated cache [B, H, slots,
 * hd] = [16, 4, 96, 64]: write this step's key and value in place, scores over every slot, additive
 * mask, softmax, weighted values. {@code nativeCall} is the floor: one trivial native op through
 * DJL, to read the others as counts of calls.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(
    value = 1,
    jvmArgsAppend = {"-Dai.djl.offline=true", "-Xss4m"})
public class AttentionDecodeBench {
  private static final long B = 16, H = 4, SLOTS = 96, HD = 64;

  @Param({"1"})
  int threads;

  private NDManager manager;
  private PtNDArray keys;
  private PtNDArray values;
  private PtNDArray qkv;
  private PtNDArray bias;
  private PtNDArray scale;

  @Setup
  public void setUp() {
    Engines.start(threads);
    JniUtils.setGradMode(false);
    manager = NDManager.newBaseManager();
    keys = (PtNDArray) manager.randomNormal(new Shape(B, H, SLOTS, HD));
    values = (PtNDArray) manager.randomNormal(new Shape(B, H, SLOTS, HD));
    qkv = (PtNDArray) manager.randomNormal(new Shape(B, 3 * H, 1, HD));
    bias = (PtNDArray) manager.zeros(new Shape(B, 1, 1, SLOTS), DataType.FLOAT32);
    scale = (PtNDArray) manager.create(0.125f);
  }

  @TearDown
  public void tearDown() {
    manager.close();
  }

  @Benchmark
  public float[] attentionStep() {
    try (var step = manager.newSubManager()) {
      var parts = JniUtils.split(qkv, H, 1);
      var q = (PtNDArray) parts.get(0);
      long slot = 40;
      long[] from = {0, 0, slot, 0};
      long[] to = {B, H, slot + 1, HD};
      long[] stride = {1, 1, 1, 1};
      JniUtils.indexSet(keys, (PtNDArray) parts.get(1), from, to, stride);
      JniUtils.indexSet(values, (PtNDArray) parts.get(2), from, to, stride);
      var scores = JniUtils.matmul(JniUtils.mul(q, scale), JniUtils.transpose(keys, 2, 3));
      var weights = JniUtils.softmax(JniUtils.add(scores, bias), -1, DataType.FLOAT32);
      var y = JniUtils.matmul(weights, values);
      parts.attach(step);
      y.attach(step);
      return null;
    }
  }

  @Benchmark
  public Object nativeCall() {
    try (var step = manager.newSubManager()) {
      var view = JniUtils.reshape(qkv, new long[] {B, 3 * H * HD});
      view.attach(step);
      return view;
    }
  }
}
