package io.streamrlhf.jmh;

import io.streamrlhf.model.Gpt;
import io.streamrlhf.model.GptConfig;
import io.streamrlhf.model.WeightSnapshot;
import io.streamrlhf.schemas.AvroCodec;
import io.streamrlhf.schemas.PublishedWeights;
import io.streamrlhf.schemas.WeightAssembler;
import io.streamrlhf.schemas.WeightChunk;
import io.streamrlhf.schemas.WeightChunker;
import io.streamrlhf.schemas.WeightModel;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The weight path of publish-to-apply on bench-small (~13 MB of float32): the learner's safetensors
 * snapshot, chunking with SHA-256 and Avro encoding, the reader's Avro decoding and verified
 * reassembly, and loading the bytes into an actor's model.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(
    value = 1,
    jvmArgsAppend = {"-Dai.djl.offline=true", "-Xss4m"})
public class WeightChunkBench {
  private static final AvroCodec<WeightChunk> CODEC = AvroCodec.of(WeightChunk.class);

  private Gpt learner;
  private Gpt actor;
  private byte[] safetensors;
  private long version;

  @Setup
  public void setUp() {
    Engines.start(1);
    learner = Gpt.create(GptConfig.small(), 0);
    actor = Gpt.create(GptConfig.small(), 1);
    safetensors = learner.snapshot(0).safetensors();
  }

  @TearDown
  public void tearDown() {
    learner.close();
    actor.close();
  }

  @Benchmark
  public byte[] snapshot() {
    return learner.snapshot(++version).safetensors();
  }

  @Benchmark
  public PublishedWeights chunkEncodeDecodeAssemble() {
    var snapshot =
        new PublishedWeights(
            WeightModel.POLICY, ++version, safetensors, Map.of("preset", "small"), Instant.EPOCH);
    var assembler = new WeightAssembler(WeightModel.POLICY);
    PublishedWeights done = null;
    for (var chunk : WeightChunker.split(snapshot)) {
      done = assembler.accept(CODEC.decode(CODEC.encode(chunk))).orElse(done);
    }
    return done;
  }

  @Benchmark
  public Gpt load() {
    actor.load(new WeightSnapshot(++version, safetensors));
    return actor;
  }
}
