package io.streamrlhf.model;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SnapshotTest {

    private static final GptConfig SHAPE = new GptConfig(ByteTokenizer.VOCAB_SIZE, 24, 16, 2, 2);
    private static final List<int[]> PROMPTS = List.of(ByteTokenizer.encode("snap"), ByteTokenizer.encode("x"));
    private static final List<int[]> RESPONSES = List.of(ByteTokenizer.encode("shot"), ByteTokenizer.encode("yz"));

    /** Trainer state a checkpoint carries besides tensors, e.g. consumed Kafka offsets. */
    record TrainerState(long policyVersion, Map<String, Long> offsets) {}

    private static float[] logits(Gpt model) {
        try (NDManager m = NDManager.newBaseManager()) {
            var batch = ScoringBatch.of(m, PROMPTS, RESPONSES);
            return Gpt.withoutGradient(() -> model.forward(batch.tokens(), batch.mask()).logits().toFloatArray());
        }
    }

    @Test
    void snapshotRoundTripGivesIdenticalOutputs() {
        try (var source = Gpt.create(SHAPE, 1); var target = Gpt.create(SHAPE, 2)) {
            assertThat(logits(target)).isNotEqualTo(logits(source));
            byte[] bytes = source.snapshot(42).encode();
            var decoded = WeightSnapshot.decode(bytes);
            target.load(decoded);
            assertThat(decoded.version()).isEqualTo(42);
            assertThat(logits(target)).isEqualTo(logits(source));
            assertThat(target.generate(PROMPTS, new Gpt.Sampling(5, 1f, 0, 9)).get(0).tokens())
                    .isEqualTo(source.generate(PROMPTS, new Gpt.Sampling(5, 1f, 0, 9)).get(0).tokens());
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
    void checkpointResumesTrainingExactly(@TempDir Path root) throws Exception {
        var state = new TrainerState(17, Map.of("rlhf.rollouts-0", 1234L));
        float[] continued;
        try (var model = Gpt.create(SHAPE, 4); var optimizer = new AdamW(model, AdamW.Hyperparameters.defaults())) {
            for (int i = 0; i < 3; i++) {
                trainStep(model, optimizer);
            }
            var written = Checkpoint.write(root, 3, model, optimizer, state);
            assertThat(written.directory().getFileName().toString()).isEqualTo("step-000000000003");
            trainStep(model, optimizer);
            continued = logits(model);
        }
        var checkpoint = Checkpoint.latest(root).orElseThrow();
        assertThat(checkpoint.step()).isEqualTo(3);
        assertThat(checkpoint.config()).isEqualTo(SHAPE);
        assertThat(checkpoint.extraState(TrainerState.class)).isEqualTo(state);
        try (var model = checkpoint.loadModel(ComputeDevice.CPU);
                var optimizer = new AdamW(model, AdamW.Hyperparameters.defaults())) {
            checkpoint.restoreOptimizer(optimizer);
            assertThat(optimizer.stepCount()).isEqualTo(3);
            trainStep(model, optimizer);
            // Without the moments the resumed step would differ (Adam's first step is ±lr).
            assertThat(logits(model)).containsExactly(continued, org.assertj.core.data.Offset.offset(1e-6f));
        }
    }

    @Test
    void failedCheckpointWriteLeavesNoCheckpointUnderItsName(@TempDir Path root) throws Exception {
        try (var model = Gpt.create(SHAPE, 4)) {
            Checkpoint.write(root, 1, model, null, Map.of("ok", true));
            // Jackson cannot serialise a bare Object: the write fails after the weights are on disk.
            assertThatThrownBy(() -> Checkpoint.write(root, 2, model, null, new Object()))
                    .hasMessageContaining("No serializer");
            assertThat(root.resolve("step-000000000002")).doesNotExist();
            // A crash mid-write leaves a temporary directory; it is never taken for a checkpoint.
            Files.createDirectories(root.resolve(".tmp-step-000000000009-crashed"));
            Files.write(root.resolve(".tmp-step-000000000009-crashed").resolve(Checkpoint.WEIGHTS_FILE), new byte[10]);
            var latest = Checkpoint.latest(root).orElseThrow();
            assertThat(latest.step()).isEqualTo(1);
            assertThat(latest.hasOptimizerState()).isFalse();
            assertThatThrownBy(() -> Checkpoint.write(root, 1, model, null, null))
                    .hasMessageContaining("already exists");
        }
    }

    private static void trainStep(Gpt model, AdamW optimizer) {
        try (NDManager m = NDManager.newBaseManager();
                var collector = Engine.getEngine("PyTorch").newGradientCollector()) {
            var batch = ScoringBatch.of(m, PROMPTS, RESPONSES);
            var scores = model.score(batch, 1f);
            var loss = batch.maskedMean(scores.logProbs()).neg().add(batch.maskedMean(scores.values().square()));
            collector.backward(loss);
        }
        optimizer.step(1e-2f, 1f);
    }
}
