package io.streamrlhf.schemas;

import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Random;

/** One filled-in example of every record type, with every field set to a non-default value. */
final class Fixtures {
  static final Instant T0 = Instant.ofEpochMilli(1_767_225_600_123L);

  private Fixtures() {}

  static Prompt prompt() {
    return new Prompt("p-1", "Sort these words: pear apple fig\n", T0, 3L, 0x5eedL);
  }

  static Rollout rollout() {
    return Rollout.newBuilder()
        .setRolloutId("r-7")
        .setPromptId("p-1")
        .setPromptTokens(List.of(83, 111, 114, 116, 10))
        .setResponseTokens(List.of(97, 112, 0))
        .setBehaviourLogProbs(List.of(-0.25f, -1.5f, -0.125f))
        .setRefLogProbs(List.of(-0.5f, -1.75f, -0.0625f))
        .setRmScore(0.875f)
        .setRewardVersion(3)
        .setPolicyVersion(12)
        .setTokenVersions(List.of(12L, 12L, 13L))
        .setActorId("actor-2")
        .setTerminated(true)
        .setSampleIndex(2)
        .setStartedAt(T0)
        .setProducedAt(T0.plusMillis(40))
        .build();
  }

  static WeightChunk weightChunk() {
    var data = new byte[1000];
    new Random(7).nextBytes(data);
    return WeightChunk.newBuilder()
        .setModel(WeightModel.REWARD)
        .setVersion(5)
        .setChunkIndex(1)
        .setChunkCount(3)
        .setTotalBytes(2500)
        .setSha256(new Sha256(WeightChunker.sha256(data)))
        .setData(ByteBuffer.wrap(data))
        .setPublishedAt(T0)
        .setMeta(Map.of("preset", "bench-small"))
        .build();
  }

  static LabelRequest labelRequest() {
    return new LabelRequest(
        "q-3",
        "p-1",
        "Sort these words\n",
        List.of("apple fig pear", "pear fig"),
        4L,
        2L,
        "actor-0",
        T0);
  }

  static Comparison comparison() {
    return Comparison.newBuilder()
        .setComparisonId("c-9")
        .setRequestId("q-3")
        .setPromptId("p-1")
        .setPromptText("Sort these words\n")
        .setResponses(List.of("apple fig pear", "pear fig", "fig pear apple"))
        .setRanks(List.of(0, 1, 1)) // the last two tie
        .setLabelerId("sim-labeler-0")
        .setCreatedAt(T0)
        .build();
  }

  static DeadLetter deadLetter() {
    return DeadLetter.newBuilder()
        .setTopic(Topics.ROLLOUTS)
        .setPartition(3)
        .setOffset(1234)
        .setKey(ByteBuffer.wrap(new byte[] {1, 2}))
        .setValue(ByteBuffer.wrap(new byte[] {(byte) 0xC3, 0x01, 9}))
        .setError("UndecodableRecordException: torn")
        .setConsumer("learner")
        .setFailedAt(T0)
        .build();
  }
}
