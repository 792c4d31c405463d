package io.streamrlhf.learner.stream;

import io.streamrlhf.model.checkpoint.Checkpoint;
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
 * The ids of the records a streaming run applied (the learner's rollouts, the reward trainer's
 * comparisons), in order, one per line in an append-only file beside its checkpoints: the evidence
 * that each was applied exactly once. A checkpoint records only the log's length, so writing one
 * costs the same at the millionth record as at the first (the ids themselves used to ride in every
 * checkpoint and grew with the run). Ids are appended, and forced to disk, just before the
 * checkpoint that covers them; a resumed run cuts the log back to the length its checkpoint
 * recorded, dropping ids applied after it (their records are consumed again).
 */
final class AppliedIdLog {
  private final Path file;
  private final List<String> pending = new ArrayList<>();
  private long bytes;
  private long count;

  private AppliedIdLog(Path file, long bytes, long count) {
    this.file = file;
    this.bytes = bytes;
    this.count = count;
  }

  /** An empty log at {@code file}, replacing any earlier run's. */
  static AppliedIdLog create(Path file) throws IOException {
    Files.write(file, new byte[0]);
    return new AppliedIdLog(file, 0, 0);
  }

  /**
   * The log at {@code file} cut back to the {@code bytes} and {@code count} a checkpoint recorded.
   */
  static AppliedIdLog resume(Path file, long bytes, long count) throws IOException {
    if (!Files.exists(file) || Files.size(file) < bytes) {
      // part of the checkpoint: the user's to restore from a copy
      throw new Checkpoint.CorruptCheckpointException(
          file
              + " is shorter than the "
              + bytes
              + " bytes its checkpoint recorded: the applied-id"
              + " log was truncated or deleted, so exactly-once cannot be checked across this restart");
    }
    try (var channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
      channel.truncate(bytes);
      channel.force(true);
    }
    return new AppliedIdLog(file, bytes, count);
  }

  Path file() {
    return file;
  }

  void add(String id) {
    pending.add(id);
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

  /**
   * The first {@code bytes} of the log at {@code file}, as ids; checked against the {@code count}
   * its checkpoint recorded.
   */
  static List<String> read(Path file, long bytes, long count) throws IOException {
    var data = Files.readAllBytes(file);
    if (data.length < bytes) {
      throw new Checkpoint.CorruptCheckpointException(
          file + " holds " + data.length + " bytes, its checkpoint " + bytes);
    }
    var text = new String(data, 0, (int) bytes, StandardCharsets.UTF_8);
    var ids = text.isEmpty() ? List.<String>of() : List.of(text.split("\n"));
    if (ids.size() != count) {
      throw new Checkpoint.CorruptCheckpointException(
          file + " holds " + ids.size() + " ids where its checkpoint counts " + count);
    }
    return ids;
  }
}
