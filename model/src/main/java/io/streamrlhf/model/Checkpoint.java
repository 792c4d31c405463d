package io.streamrlhf.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import java.util.Optional;
import java.util.UUID;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A checkpoint directory {@code <root>/step-<step>/} holding {@code config.json} (the
 * {@link GptConfig}), {@code weights.snapshot} (a {@link WeightSnapshot} with version = step),
 * optionally {@code optimizer.snapshot} ({@link AdamW#state()}) and {@code state.json} (whatever
 * else the trainer must resume: Kafka offsets, schedules, counters).
 *
 * <p>Written under a hidden temporary name, flushed to disk, then renamed in one atomic step:
 * a crash leaves at most a {@code .tmp-*} directory that {@link #latest} never returns, never a
 * half-written checkpoint under a {@code step-*} name.
 *
 * @param directory the checkpoint's directory
 * @param step the training step it was taken at
 */
public record Checkpoint(Path directory, long step) {

    public static final String CONFIG_FILE = "config.json";
    public static final String WEIGHTS_FILE = "weights.snapshot";
    public static final String OPTIMIZER_FILE = "optimizer.snapshot";
    public static final String STATE_FILE = "state.json";

    private static final Pattern NAME = Pattern.compile("step-(\\d{12})");
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * Writes a checkpoint atomically.
     *
     * @param optimizer may be null (e.g. a frozen reward model)
     * @param extraState any Jackson-serialisable value, or null
     * @throws IllegalStateException if a checkpoint for {@code step} already exists
     */
    public static Checkpoint write(Path root, long step, Gpt model, AdamW optimizer, Object extraState)
            throws IOException {
        if (step < 0) {
            throw new IllegalArgumentException("checkpoint step must be non-negative, got " + step);
        }
        Files.createDirectories(root);
        Path target = root.resolve(String.format("step-%012d", step));
        if (Files.exists(target)) {
            throw new IllegalStateException("checkpoint for step " + step + " already exists: " + target);
        }
        Path temporary = root.resolve(".tmp-" + target.getFileName() + "-" + UUID.randomUUID());
        Files.createDirectory(temporary);
        try {
            writeDurably(temporary.resolve(CONFIG_FILE), model.config().toJson().getBytes(java.nio.charset.StandardCharsets.UTF_8));
            writeDurably(temporary.resolve(WEIGHTS_FILE), model.snapshot(step).encode());
            if (optimizer != null) {
                writeDurably(temporary.resolve(OPTIMIZER_FILE), optimizer.state().encode());
            }
            writeDurably(temporary.resolve(STATE_FILE), JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(extraState));
            force(temporary);
            try {
                Files.move(temporary, target, StandardCopyOption.ATOMIC_MOVE);
            } catch (FileAlreadyExistsException | java.nio.file.DirectoryNotEmptyException e) {
                throw new IllegalStateException("checkpoint for step " + step + " was written concurrently: " + target, e);
            }
            force(root);
        } catch (IOException | RuntimeException e) {
            deleteRecursively(temporary);
            throw e;
        }
        return new Checkpoint(target, step);
    }

    /** The checkpoint with the highest step under {@code root}, if any. */
    public static Optional<Checkpoint> latest(Path root) throws IOException {
        if (!Files.isDirectory(root)) {
            return Optional.empty();
        }
        try (Stream<Path> entries = Files.list(root)) {
            return entries
                    .filter(Files::isDirectory)
                    .flatMap(dir -> {
                        var m = NAME.matcher(dir.getFileName().toString());
                        return m.matches() ? Stream.of(new Checkpoint(dir, Long.parseLong(m.group(1)))) : Stream.empty();
                    })
                    .max(Comparator.comparingLong(Checkpoint::step));
        }
    }

    public GptConfig config() throws IOException {
        return GptConfig.fromJson(Files.readString(directory.resolve(CONFIG_FILE)));
    }

    /** The verified weights; a corrupted file fails with the checksum message. */
    public WeightSnapshot weights() throws IOException {
        return WeightSnapshot.decode(Files.readAllBytes(directory.resolve(WEIGHTS_FILE)));
    }

    /** A float32 model with the config and weights of this checkpoint. */
    public Gpt loadModel(ComputeDevice device) throws IOException {
        return Gpt.fromSnapshot(config(), weights(), device);
    }

    public boolean hasOptimizerState() {
        return Files.exists(directory.resolve(OPTIMIZER_FILE));
    }

    /** Restores {@code optimizer} (built for the loaded model) to the saved moments and step count. */
    public void restoreOptimizer(AdamW optimizer) throws IOException {
        if (!hasOptimizerState()) {
            throw new IllegalStateException("checkpoint " + directory + " holds no optimizer state");
        }
        optimizer.restore(WeightSnapshot.decode(Files.readAllBytes(directory.resolve(OPTIMIZER_FILE))));
    }

    /** The extra state, read back as {@code type}; null if none was written. */
    public <T> T extraState(Class<T> type) throws IOException {
        return JSON.readValue(directory.resolve(STATE_FILE).toFile(), type);
    }

    private static void writeDurably(Path file, byte[] bytes) throws IOException {
        try (var channel = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            var buffer = java.nio.ByteBuffer.wrap(bytes);
            while (buffer.hasRemaining()) {
                channel.write(buffer);
            }
            channel.force(true);
        }
    }

    /** fsync a directory so the entries in it (and a rename into it) survive a power cut (Linux). */
    private static void force(Path directory) throws IOException {
        try (var channel = FileChannel.open(directory, StandardOpenOption.READ)) {
            channel.force(true);
        } catch (IOException e) {
            // Some file systems refuse to open directories; the rename is still atomic there.
        }
    }

    private static void deleteRecursively(Path directory) {
        try (Stream<Path> paths = Files.walk(directory)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // Best effort: a leftover .tmp-* directory is never mistaken for a checkpoint.
        }
    }
}
