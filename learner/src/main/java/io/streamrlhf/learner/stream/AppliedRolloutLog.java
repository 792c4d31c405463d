package io.streamrlhf.learner.stream;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * The ids of the rollouts a streaming run applied, in order, one per line in an append-only file
 * beside its checkpoints. A checkpoint records only the log's length, so writing one costs the same
 * at the millionth rollout as at the first (the ids themselves used to ride in every checkpoint and
 * grew with the run). Ids are appended, and forced to disk, just before the checkpoint that covers
 * them; a resumed run cuts the log back to the length its checkpoint recorded, dropping ids of
 * updates that were never checkpointed (their rollouts are consumed again).
 */
final class AppliedRolloutLog {
  static final String FILE = "applied-rollouts.txt";

  private final Path file;
  private final List<String> pending = new ArrayList<>();
  private long bytes;
  private long count;

  private AppliedRolloutLog(Path file, long bytes, long count) {
    this.file = file;
    this.bytes = bytes;
    this.count = count;
  }

  /** An empty log in {@code dir}, replacing any earlier run's. */
  static AppliedRolloutLog create(Path dir) throws IOException {
    Files.write(dir.resolve(FILE), new byte[0]);
    return new AppliedRolloutLog(dir.resolve(FILE), 0, 0);
  }

  /**
   * The log in {@code dir} cut back to the {@code bytes} and {@code count} a checkpoint recorded.
   */
  static AppliedRolloutLog resume(Path dir, long bytes, long count) throws IOException {
    var file = dir.resolve(FILE);
    if (!Files.exists(file) || Files.size(file) < bytes) {
      throw new IOException(
          file
              + " is shorter than the "
              + bytes
              + " bytes its checkpoint recorded: the applied-rollout"
              + " log was truncated or deleted, so exactly-once cannot be checked across this restart");
    }
    try (var channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
      channel.truncate(bytes);
      channel.force(true);
    }
    return new AppliedRolloutLog(file, bytes, count);
  }

  void add(String rolloutId) {
    pending.add(rolloutId);
  }

  /** Ids applied in all, pending ones included. */
  long count() {
    return count + pending.size();
  }

  /**
   * Appends the pending ids and forces them to disk; then {@link #bytes()} and {@link
   * #durableCount()} cover them.
   */
  void flush() throws IOException {
    if (pending.isEmpty()) {
      return;
    }
    var text = new StringBuilder();
    pending.forEach(id -> text.append(id).append('\n'));
    var data = ByteBuffer.wrap(text.toString().getBytes(StandardCharsets.UTF_8));
    try (var channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
      channel.position(bytes);
      while (data.hasRemaining()) bytes += channel.write(data);
      channel.force(false);
    }
    count += pending.size();
    pending.clear();
  }

  /** Length of the log on disk that the next checkpoint covers. */
  long bytes() {
    return bytes;
  }

  /** Ids on disk. */
  long durableCount() {
    return count;
  }

  /** The first {@code bytes} of the log in {@code dir}, as ids. */
  static List<String> read(Path dir, long bytes) throws IOException {
    var data = Files.readAllBytes(dir.resolve(FILE));
    if (data.length < bytes) {
      throw new IOException(
          dir.resolve(FILE) + " holds " + data.length + " bytes, its checkpoint " + bytes);
    }
    var text = new String(data, 0, (int) bytes, StandardCharsets.UTF_8);
    return text.isEmpty() ? List.of() : List.of(text.split("\n"));
  }
}
